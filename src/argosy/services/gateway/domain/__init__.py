"""The gateway's rules without I/O: route table, token and signature checks, rate-limit
math, circuit breaker, balancer, WebSocket channels and the OpenAPI merge.

Everything here runs in a unit test with no server, loop or network; the modules beside
`domain/` feed it clocks, bytes and keys.
"""
