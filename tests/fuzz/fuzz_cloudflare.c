/*
 * fuzz_cloudflare.c: libFuzzer target for the Cloudflare v4 answer
 * parsers of pds-ddns (cron/dns_cloudflare.c): the envelope, a
 * dns_records list and a zones list.  The cron sources are compiled into
 * this target (they are not in the core archive).
 */
#include <stdint.h>

#include "../../cron/common.c"
#include "../../cron/dnsname.c"
#include "../../cron/dns_cloudflare.c"
#include "../../cron/http.c"
#include "../../cron/ipaddr.c"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cf_record	 r[3];
	const char		*p = (const char *)data;
	char			 err[128], id[40];
	size_t			 n = 0;

	(void)cf_answer_parse(p, size, r, 3, &n, err, sizeof(err));
	(void)cf_answer_parse(p, size, NULL, 0, NULL, err, sizeof(err));
	(void)cf_zone_parse(p, size, "example.com", id, sizeof(id), err,
	    sizeof(err));
	return 0;
}
