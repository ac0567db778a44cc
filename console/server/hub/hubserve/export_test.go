package hubserve

// ProxyListener is proxyListener, for the policy's test beside a plain listener (no TLS, no hub).
var ProxyListener = proxyListener
