"""usage: client.py N PORT [KEY] [fresh]  -- fire N concurrent chat requests, print status histogram."""
import asyncio, collections, sys, time, httpx

async def main(n, port, key, fresh):
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=0 if fresh else 100)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits) as c:
        body = {"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}]}
        t = time.time()
        rs = await asyncio.gather(*[c.post("/v1/chat/completions", json=body,
                                           headers={"Authorization": f"Bearer {key}"}) for _ in range(n)])
        print(dict(sorted(collections.Counter(r.status_code for r in rs).items())), f"{time.time()-t:.2f}s")
        bad = [r for r in rs if r.status_code not in (200, 429)]
        if bad: print("other:", bad[0].text[:300])
        per = collections.defaultdict(collections.Counter)
        for r in rs: per[r.headers.get("x-e2e-worker-pid")][r.status_code] += 1
        print("per worker:", {k: dict(v) for k, v in per.items()})
        r429 = [r for r in rs if r.status_code == 429]
        if r429: print("429 body:", r429[0].text[:200])

n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
port = int(sys.argv[2]) if len(sys.argv) > 2 else 4011
key = sys.argv[3] if len(sys.argv) > 3 else "sk-e2e-limited"
fresh = len(sys.argv) > 4 and sys.argv[4] == "fresh"
asyncio.run(main(n, port, key, fresh))
