/*
 * fuzz_ddns_text.c: libFuzzer target for the small text parsers of
 * pds-ddns: an IP echo answer (cron/ipaddr.c) as IPv4 and IPv6, a DNS
 * name as given (ddns_name_norm) and as Route53 prints it
 * (ddns_name_unescape), and the AWS credentials file (cron/awscred.c).
 * The cron sources are compiled into this target.
 */
#include <stdint.h>
#include <sys/socket.h>

#include "../../cron/awscred.c"
#include "../../cron/common.c"
#include "../../cron/dnsname.c"
#include "../../cron/ipaddr.c"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ddns_addr	 a;
	struct awscred		 c;
	const char		*p = (const char *)data, *why;
	char			 name[LIM_DDNS_NAME_LEN + 1], err[128];

	if (ddns_ip_parse(p, size, AF_INET, &a, &why) == 0)
		(void)ddns_ip_public(&a, &why);
	if (ddns_ip_parse(p, size, AF_INET6, &a, &why) == 0)
		(void)ddns_ip_public(&a, &why);
	(void)ddns_name_norm(p, size, name);
	(void)ddns_name_unescape(p, size, name);
	if (awscred_parse(p, size, "default", &c, err, sizeof(err)) == 0)
		awscred_free(&c);
	return 0;
}
