// fake-ipecho.mjs: a loopback stand-in for "what is my IP" services
// (ifconfig.me/ip, api.ipify.org, icanhazip.com) for the pds-ddns tests.
//
// The answer is set by the test: a bare address with a newline (what the
// real services send a curl client), an HTML page (what ifconfig.me sends
// a browser-like user agent), garbage, an HTTP error, or a hang.  Like
// ifconfig.me, a non-curl User-Agent gets the HTML page whatever the mode.
import http from 'node:http';

const HTML = '<!DOCTYPE html><html><head><title>What Is My IP Address? - ' +
  'ifconfig.me</title></head><body><strong id="ip_address">%IP%</strong>' +
  '</body></html>\n';

export class FakeIpEcho {
  // host: '127.0.0.1' or '::1'
  constructor(host = '127.0.0.1') {
    this.host = host;
    this.mode = 'ip';       // 'ip' | 'html' | 'garbage' | 'error' | 'hang'
    this.ip = '203.0.113.7';
    this.garbage = 'not an address\n';
    this.hits = 0;
    this.agents = [];
  }

  async start() {
    this.server = http.createServer((req, res) => {
      this.hits++;
      const ua = req.headers['user-agent'] || '';
      this.agents.push(ua);
      if (this.mode === 'hang') return;  // client times out
      if (this.mode === 'error') {
        res.writeHead(503, { 'content-type': 'text/plain' });
        return res.end('Service Unavailable\n');
      }
      if (this.mode === 'html' || !ua.startsWith('curl/')) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(HTML.replace('%IP%', this.ip));
      }
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(this.mode === 'garbage' ? this.garbage : this.ip + '\n');
    });
    await new Promise((r) => this.server.listen(0, this.host, r));
    const h = this.host.includes(':') ? `[${this.host}]` : this.host;
    this.url = `http://${h}:${this.server.address().port}/ip`;
    return this;
  }

  async close() {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}
