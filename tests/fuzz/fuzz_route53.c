/*
 * fuzz_route53.c: libFuzzer target for the bounded XML scanner
 * (cron/xml.c) and the Route53 answer parsers built on it
 * (cron/dns_route53.c): ListResourceRecordSets, ListHostedZonesByName and
 * ErrorResponse.  The cron sources are not in the core archive, so they
 * are compiled into this target.
 */
#include <stdint.h>
#include <string.h>

#include "../../cron/awscred.c"
#include "../../cron/common.c"
#include "../../cron/dnsname.c"
#include "../../cron/dns_route53.c"
#include "../../cron/http.c"
#include "../../cron/ipaddr.c"
#include "../../cron/xml.c"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
fuzz_cb(const struct cxml_event *ev, void *arg)
{
	size_t	*n = arg;

	/* Touch every byte handed out, so ASan sees overreads. */
	if (ev->name != NULL)
		*n += strlen(ev->name);
	if (ev->text != NULL)
		*n += strlen(ev->text) + ev->textlen;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct r53_rrset	 rr[3];
	const char		*p = (const char *)data;
	char			 err[128], id[32], code[16], msg[32];
	size_t			 n = 0;

	(void)cxml_scan(p, size, fuzz_cb, &n, err, sizeof(err));
	(void)r53_rrsets_parse(p, size, rr, 3, &n, err, sizeof(err));
	(void)r53_zone_parse(p, size, "example.com", id, sizeof(id), err,
	    sizeof(err));
	(void)r53_error_parse(p, size, code, sizeof(code), msg, sizeof(msg));
	return 0;
}
