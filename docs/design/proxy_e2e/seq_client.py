"""usage: seq_client.py N PORT KEY -- N sequential requests, new TCP connection each."""
import collections, sys, httpx
n, port, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
per = collections.defaultdict(collections.Counter); tot = collections.Counter()
body = {"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}]}
for _ in range(n):
    r = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=body,
                   headers={"Authorization": f"Bearer {key}"}, timeout=30)
    tot[r.status_code] += 1; per[r.headers.get("x-e2e-worker-pid")][r.status_code] += 1
print(dict(tot), {k: dict(v) for k, v in per.items()})
