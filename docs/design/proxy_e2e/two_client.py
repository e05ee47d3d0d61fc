"""usage: two_client.py N KEY PORT... -- N requests round-robin over the ports, concurrently."""
import asyncio, collections, sys, httpx
async def main():
    n, key, ports = int(sys.argv[1]), sys.argv[2], [int(p) for p in sys.argv[3:]]
    body = {"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}]}
    lim = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=30, limits=lim) as c:
        rs = await asyncio.gather(*[c.post(f"http://127.0.0.1:{ports[i % len(ports)]}/v1/chat/completions", json=body,
                                           headers={"Authorization": f"Bearer {key}"}) for i in range(n)])
    per = collections.defaultdict(collections.Counter)
    for i, r in enumerate(rs): per[(ports[i % len(ports)], r.headers.get("x-e2e-worker-pid"))][r.status_code] += 1
    print(dict(collections.Counter(r.status_code for r in rs)), {f"{k[0]}/{k[1]}": dict(v) for k, v in per.items()})
    odd = [r for r in rs if r.status_code not in (200, 429)]
    if odd: print(odd[0].status_code, odd[0].text[:300])
asyncio.run(main())
