/*
 * test_cron_ddns.c: the pure parsers of pds-ddns: IP echo answers, DNS
 * names and Route53's \052 escapes, the bounded XML scanner, Route53
 * answers and change batches, the AWS credentials file, and Cloudflare
 * answers.  Route53 samples follow the shapes in the API reference
 * (docs.aws.amazon.com/Route53/latest/APIReference), including an alias
 * record and a private zone.
 *
 * The cron sources are not in the core archive; they are compiled into
 * this test directly.
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include "t.h"

/* A string literal and its length. */
#define SL(s)	(s), (sizeof(s) - 1)

#include "../../cron/awscred.c"
#include "../../cron/common.c"
#include "../../cron/dns_cloudflare.c"
#include "../../cron/dns_route53.c"
#include "../../cron/dnsname.c"
#include "../../cron/http.c"
#include "../../cron/ipaddr.c"
#include "../../cron/xml.c"

static void
test_ip(void)
{
	static const struct {
		const char	*in;
		int		 family, ok, pub;
		const char	*text;
	} rows[] = {
		{ "203.0.113.7\n", AF_INET, 1, 1, "203.0.113.7" },
		{ "203.0.113.7\r\n", AF_INET, 1, 1, "203.0.113.7" },
		{ "203.0.113.7", AF_INET, 1, 1, "203.0.113.7" },
		{ "8.8.8.8\n", AF_INET, 1, 1, "8.8.8.8" },
		{ "255.255.255.255", AF_INET, 1, 0, NULL },
		{ "10.1.2.3", AF_INET, 1, 0, NULL },
		{ "100.64.0.1", AF_INET, 1, 0, NULL },
		{ "100.128.0.1", AF_INET, 1, 1, NULL },
		{ "127.0.0.1", AF_INET, 1, 0, NULL },
		{ "169.254.1.1", AF_INET, 1, 0, NULL },
		{ "172.16.0.1", AF_INET, 1, 0, NULL },
		{ "172.32.0.1", AF_INET, 1, 1, NULL },
		{ "192.168.0.1", AF_INET, 1, 0, NULL },
		{ "224.0.0.1", AF_INET, 1, 0, NULL },
		{ "0.1.2.3", AF_INET, 1, 0, NULL },
		{ "", AF_INET, 0, 0, NULL },
		{ "\n", AF_INET, 0, 0, NULL },
		{ "01.2.3.4", AF_INET, 0, 0, NULL },
		{ "1.2.3", AF_INET, 0, 0, NULL },
		{ "1.2.3.4.5", AF_INET, 0, 0, NULL },
		{ "256.1.1.1", AF_INET, 0, 0, NULL },
		{ "1234.1.1.1", AF_INET, 0, 0, NULL },
		{ " 1.2.3.4", AF_INET, 0, 0, NULL },
		{ "1.2.3.4 ", AF_INET, 0, 0, NULL },
		{ "1.2.3.4\n\n", AF_INET, 0, 0, NULL },
		{ "1.2.3.4\n5.6.7.8", AF_INET, 0, 0, NULL },
		{ "<html><body>1.2.3.4</body></html>", AF_INET, 0, 0, NULL },
		{ "0x7f.0.0.1", AF_INET, 0, 0, NULL },
		{ "2001:db8::1", AF_INET, 0, 0, NULL },
		{ "2001:DB8:0::12\n", AF_INET6, 1, 1, "2001:db8::12" },
		{ "2606:4700::1111", AF_INET6, 1, 1, "2606:4700::1111" },
		{ "::1", AF_INET6, 1, 0, NULL },
		{ "::", AF_INET6, 1, 0, NULL },
		{ "::ffff:1.2.3.4", AF_INET6, 1, 0, NULL },
		{ "fe80::1", AF_INET6, 1, 0, NULL },
		{ "fd00::2", AF_INET6, 1, 0, NULL },
		{ "ff02::1", AF_INET6, 1, 0, NULL },
		{ "2001:db8:::1", AF_INET6, 0, 0, NULL },
		{ "2001:db8::1%eth0", AF_INET6, 0, 0, NULL },
		{ "1.2.3.4", AF_INET6, 0, 0, NULL },
		{ "2001:db8::g", AF_INET6, 0, 0, NULL },
	};
	struct ddns_addr	 a;
	const char		*why;
	size_t			 i;
	int			 ok;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ok = ddns_ip_parse(rows[i].in, strlen(rows[i].in),
		    rows[i].family, &a, &why) == 0;
		T_OK(ok == rows[i].ok, "ip row %zu \"%s\"", i, rows[i].in);
		if (!ok || !rows[i].ok)
			continue;
		T_OK(ddns_ip_public(&a, &why) == rows[i].pub, "public %zu", i);
		if (rows[i].text != NULL)
			T_EQ_STR(a.text, rows[i].text);
	}
	T_OK(ddns_ip_parse(SL("9.9.9.9"), AF_INET, &a, &why) == 0, "parse");
	T_OK(ddns_ip_equal(&a, "9.9.9.9"), "equal");
	T_OK(!ddns_ip_equal(&a, "9.9.9.8"), "not equal");
	T_OK(!ddns_ip_equal(&a, "junk"), "junk");
}

static void
test_names(void)
{
	static const struct { const char *in, *out; } norm[] = {
		{ "PDS.Example.COM.", "pds.example.com" },
		{ "*.pds.example.com", "*.pds.example.com" },
		{ "a-b.c0", "a-b.c0" },
		{ "pds.example.com", "pds.example.com" },
		{ "*pds.example.com", NULL },
		{ "a.*.example.com", NULL },
		{ "*.", NULL },
		{ "-a.com", NULL },
		{ "a-.com", NULL },
		{ "a..com", NULL },
		{ ".a.com", NULL },
		{ "com", NULL },
		{ "", NULL },
		{ ".", NULL },
		{ "a_b.com", NULL },
		{ "a b.com", NULL },
		{ "a.com-", NULL },
	};
	static const struct { const char *in, *out; } unesc[] = {
		{ "\\052.pds.example.com.", "*.pds.example.com" },
		{ "Pds.Example.com.", "pds.example.com" },
		{ "a\\055b.com", "a-b.com" },
		{ "\\0", NULL },
		{ "\\999.com", NULL },
		{ "\\000.com", NULL },
		{ "a b.com", NULL },
		{ ".", NULL },
	};
	char	out[LIM_DDNS_NAME_LEN + 1], big[300];
	size_t	i;
	int	rc;

	for (i = 0; i < sizeof(norm) / sizeof(norm[0]); i++) {
		rc = ddns_name_norm(norm[i].in, strlen(norm[i].in), out);
		T_OK((rc == 0) == (norm[i].out != NULL), "norm \"%s\"",
		    norm[i].in);
		if (rc == 0 && norm[i].out != NULL)
			T_EQ_STR(out, norm[i].out);
	}
	/* A 64-byte label and a 254-byte name are too long. */
	memset(big, 'a', 64);
	memcpy(big + 64, ".com", 5);
	T_OK(ddns_name_norm(big, strlen(big), out) == -1, "64-byte label");
	big[1] = '.';
	T_OK(ddns_name_norm(big, strlen(big), out) == 0, "63-byte label");
	for (i = 0; i < 254; i++)
		big[i] = (i % 2) ? '.' : 'a';
	big[253] = 'a';
	big[254] = '\0';
	T_OK(ddns_name_norm(big, 254, out) == -1, "254-byte name");
	T_OK(ddns_name_norm(big + 1, 253, out) == -1, "leading dot");
	T_OK(ddns_name_norm(big, 253, out) == 0, "253-byte name");
	for (i = 0; i < sizeof(unesc) / sizeof(unesc[0]); i++) {
		rc = ddns_name_unescape(unesc[i].in, strlen(unesc[i].in), out);
		T_OK((rc == 0) == (unesc[i].out != NULL), "unescape \"%s\"",
		    unesc[i].in);
		if (rc == 0 && unesc[i].out != NULL)
			T_EQ_STR(out, unesc[i].out);
	}
	T_OK(ddns_name_in_zone("a.example.com", "example.com"), "in zone");
	T_OK(ddns_name_in_zone("example.com", "example.com"), "apex");
	T_OK(!ddns_name_in_zone("aexample.com", "example.com"), "suffix");
	T_OK(!ddns_name_in_zone("example.com", "a.example.com"), "parent");
}

static int
count_cb(const struct cxml_event *ev, void *arg)
{
	int	*n = arg;

	(void)ev;
	(*n)++;
	return 0;
}

static void
test_xml(void)
{
	static const struct { const char *doc; int ok; } rows[] = {
		{ "<?xml version=\"1.0\"?>\n<a x='1' y=\"2\"><b>t</b><c/></a>", 1 },
		{ "<a><!-- c --><b>&lt;&amp;&#65;&#x42;</b></a>", 1 },
		{ "<ns:a xmlns:ns=\"u\"><ns:b>x</ns:b></ns:a>", 1 },
		{ "<a>", 0 },
		{ "<a></b>", 0 },
		{ "<a/><b/>", 0 },
		{ "text<a/>", 0 },
		{ "<a/>text", 0 },
		{ "", 0 },
		{ "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", 0 },
		{ "<a><![CDATA[x]]></a>", 0 },
		{ "<a>&bogus;</a>", 0 },
		{ "<a>&#0;</a>", 0 },
		{ "<a>&#xD800;</a>", 0 },
		{ "<a>&#;</a>", 0 },
		{ "<a><!-- a -- b --></a>", 0 },
		{ "<a>\x01</a>", 0 },
		{ "<a x=1/>", 0 },
		{ "<a x='<'/>", 0 },
		{ "<a><?pi x?></a>", 0 },
		{ " <?xml version=\"1.0\"?><a/>", 0 },
		{ "<1a/>", 0 },
	};
	struct buf	b;
	char		err[128];
	size_t		i;
	int		n;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		n = 0;
		T_OK((cxml_scan(rows[i].doc, strlen(rows[i].doc), count_cb, &n,
		    err, sizeof(err)) == 0) == rows[i].ok, "xml row %zu: %s",
		    i, err);
	}
	/* Depth and text limits. */
	buf_init(&b, 0);
	for (i = 0; i <= LIM_XML_DEPTH; i++)
		(void)buf_puts(&b, "<a>");
	for (i = 0; i <= LIM_XML_DEPTH; i++)
		(void)buf_puts(&b, "</a>");
	T_OK(cxml_scan((char *)b.data, b.len, count_cb, &n, err,
	    sizeof(err)) == -1 && strstr(err, "nested") != NULL, "depth");
	buf_reset(&b);
	(void)buf_puts(&b, "<a>");
	for (i = 0; i <= LIM_XML_TEXT; i++)
		(void)buf_putc(&b, 'x');
	(void)buf_puts(&b, "</a>");
	T_OK(cxml_scan((char *)b.data, b.len, count_cb, &n, err,
	    sizeof(err)) == -1 && strstr(err, "text longer") != NULL, "text");
	buf_free(&b);
}

static const char r53_list[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListResourceRecordSetsResponse xmlns=\"https://route53.amazonaws.com/"
    "doc/2013-04-01/\">\n"
    "   <ResourceRecordSets>\n"
    "      <ResourceRecordSet>\n"
    "         <Name>\\052.pds.example.com.</Name>\n"
    "         <Type>A</Type>\n"
    "         <TTL>300</TTL>\n"
    "         <ResourceRecords>\n"
    "            <ResourceRecord><Value>192.0.2.1</Value></ResourceRecord>\n"
    "            <ResourceRecord><Value>192.0.2.2</Value></ResourceRecord>\n"
    "         </ResourceRecords>\n"
    "      </ResourceRecordSet>\n"
    "      <ResourceRecordSet>\n"
    "         <Name>pds.example.com.</Name>\n"
    "         <Type>A</Type>\n"
    "         <AliasTarget><HostedZoneId>Z2FDTNDATAQYW2</HostedZoneId>"
    "<DNSName>d111111abcdef8.cloudfront.net.</DNSName>"
    "<EvaluateTargetHealth>false</EvaluateTargetHealth></AliasTarget>\n"
    "      </ResourceRecordSet>\n"
    "   </ResourceRecordSets>\n"
    "   <IsTruncated>true</IsTruncated>\n"
    "   <MaxItems>2</MaxItems>\n"
    "   <NextRecordName>www.example.com.</NextRecordName>\n"
    "   <NextRecordType>A</NextRecordType>\n"
    "</ListResourceRecordSetsResponse>\n";

static const char r53_zones[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListHostedZonesByNameResponse xmlns=\"https://route53.amazonaws.com/"
    "doc/2013-04-01/\"><HostedZones>"
    "<HostedZone><Id>/hostedzone/ZPRIV</Id><Name>example.com.</Name>"
    "<CallerReference>a</CallerReference><Config><PrivateZone>true"
    "</PrivateZone></Config><ResourceRecordSetCount>2"
    "</ResourceRecordSetCount></HostedZone>"
    "<HostedZone><Id>/hostedzone/Z1D633PJN98FT9</Id><Name>example.com."
    "</Name><CallerReference>b</CallerReference><Config><Comment>c"
    "</Comment><PrivateZone>false</PrivateZone></Config>"
    "<ResourceRecordSetCount>17</ResourceRecordSetCount></HostedZone>"
    "</HostedZones><DNSName>example.com.</DNSName><IsTruncated>false"
    "</IsTruncated><MaxItems>10</MaxItems>"
    "</ListHostedZonesByNameResponse>";

static void
test_route53(void)
{
	struct r53_rrset	 rr[4];
	struct ddns_want	 w[2];
	struct ddns_have	 h[2];
	struct ddns_addr	 a;
	struct buf		 b;
	const char		*why;
	char			 err[128], id[64], code[32], msg[64];
	size_t			 n = 0;

	T_OK(r53_rrsets_parse(r53_list, sizeof(r53_list) - 1, rr, 4, &n, err,
	    sizeof(err)) == 0, "rrsets: %s", err);
	T_EQ_INT(n, 2);
	T_EQ_STR(rr[0].name, "*.pds.example.com");
	T_EQ_STR(rr[0].type, "A");
	T_EQ_INT(rr[0].ttl, 300);
	T_EQ_INT(rr[0].nvalues, 2);
	T_EQ_STR(rr[0].values[1], "192.0.2.2");
	T_EQ_INT(rr[1].alias, 1);
	T_EQ_INT(rr[1].ttl, -1);
	T_EQ_INT(rr[1].nvalues, 0);
	T_OK(r53_rrsets_parse(r53_list, sizeof(r53_list) - 1, rr, 1, &n, err,
	    sizeof(err)) == 0 && n == 1, "max");
	T_OK(r53_rrsets_parse(r53_zones, sizeof(r53_zones) - 1, rr, 4, &n,
	    err, sizeof(err)) == -1, "wrong root");
	T_OK(r53_rrsets_parse(SL("<ListResourceRecordSetsResponse><ResourceRecord"
	    "Sets><ResourceRecordSet><Type>A</Type></ResourceRecordSet></Resour"
	    "ceRecordSets></ListResourceRecordSetsResponse>"), rr, 4, &n,
	    err, sizeof(err)) == -1, "no name");

	T_EQ_INT(r53_zone_parse(r53_zones, sizeof(r53_zones) - 1, "example.com",
	    id, sizeof(id), err, sizeof(err)), 0);
	T_EQ_STR(id, "Z1D633PJN98FT9");
	T_EQ_INT(r53_zone_parse(r53_zones, sizeof(r53_zones) - 1, "example.org",
	    id, sizeof(id), err, sizeof(err)), 1);
	T_EQ_INT(r53_zone_parse(r53_list, sizeof(r53_list) - 1, "example.com",
	    id, sizeof(id), err, sizeof(err)), -1);

	T_EQ_INT(r53_error_parse(SL("<?xml version=\"1.0\"?>\n<ErrorResponse xmlns="
	    "\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>"
	    "Sender</Type><Code>SignatureDoesNotMatch</Code><Message>bad &amp; "
	    "worse</Message></Error><RequestId>x</RequestId></ErrorResponse>"), code, sizeof(code), msg, sizeof(msg)), 0);
	T_EQ_STR(code, "SignatureDoesNotMatch");
	T_EQ_STR(msg, "bad & worse");
	T_EQ_INT(r53_error_parse(SL("<html/>"), code, sizeof(code), msg,
	    sizeof(msg)), -1);

	T_OK(ddns_ip_parse(SL("203.0.113.7"), AF_INET, &a, &why) == 0, "ip");
	memset(w, 0, sizeof(w));
	memset(h, 0, sizeof(h));
	(void)snprintf(w[0].name, sizeof(w[0].name), "pds.example.com");
	(void)snprintf(w[1].name, sizeof(w[1].name), "*.pds.example.com");
	w[0].type = w[1].type = "A";
	w[0].addr = w[1].addr = &a;
	w[0].ttl = w[1].ttl = 300;
	h[0].same = 1;
	buf_init(&b, 0);
	T_OK(r53_change_write(&b, w, h, 2) == 0 && buf_cstr(&b) == 0, "write");
	T_EQ_STR((char *)b.data, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<ChangeResourceRecordSetsRequest xmlns=\"https://route53.amazonaws"
	    ".com/doc/2013-04-01/\"><ChangeBatch><Comment>pds-ddns</Comment>"
	    "<Changes><Change><Action>UPSERT</Action><ResourceRecordSet><Name>*"
	    ".pds.example.com.</Name><Type>A</Type><TTL>300</TTL>"
	    "<ResourceRecords><ResourceRecord><Value>203.0.113.7</Value>"
	    "</ResourceRecord></ResourceRecords></ResourceRecordSet></Change>"
	    "</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>");
	buf_reset(&b);
	T_OK(chttp_urlencode(&b, "*.a-b_c~d.e f/") == 0 && buf_cstr(&b) == 0,
	    "urlencode");
	T_EQ_STR((char *)b.data, "%2A.a-b_c~d.e%20f%2F");
	buf_free(&b);
}

static void
test_awscred(void)
{
	static const char file[] =
	    "# comment\n"
	    "[default]\n"
	    "aws_access_key_id = AKIDDEFAULT\n"
	    "aws_secret_access_key=secret/default\n"
	    "\n"
	    "; other comment\n"
	    "[ pds ]\r\n"
	    "aws_access_key_id\t=\tAKIDPDS \r\n"
	    "aws_secret_access_key = s+e/c=\r\n"
	    "aws_session_token = tok\r\n"
	    "region = us-east-1\n"
	    "[half]\n"
	    "aws_access_key_id = ONLY\n";
	struct awscred	c;
	char		err[128];

	T_EQ_INT(awscred_parse(file, sizeof(file) - 1, "default", &c, err,
	    sizeof(err)), 0);
	T_EQ_STR(c.key_id, "AKIDDEFAULT");
	T_EQ_STR(c.secret, "secret/default");
	T_OK(c.token == NULL, "no token");
	awscred_free(&c);
	T_EQ_INT(awscred_parse(file, sizeof(file) - 1, "pds", &c, err,
	    sizeof(err)), 0);
	T_EQ_STR(c.key_id, "AKIDPDS");
	T_EQ_STR(c.secret, "s+e/c=");
	T_EQ_STR(c.token, "tok");
	awscred_free(&c);
	T_EQ_INT(awscred_parse(file, sizeof(file) - 1, "half", &c, err,
	    sizeof(err)), 1);
	T_EQ_INT(awscred_parse(file, sizeof(file) - 1, "none", &c, err,
	    sizeof(err)), 1);
	T_EQ_INT(awscred_parse(SL("[default\nx=y\n"), "default", &c, err,
	    sizeof(err)), -1);
	T_EQ_INT(awscred_parse(SL("[default]\ngarbage\n"), "default", &c, err,
	    sizeof(err)), -1);
	T_OK(strstr(err, "line 2") != NULL, "line number: %s", err);
	T_EQ_INT(awscred_parse(SL("[a]\0"), "a", &c, err, sizeof(err)), -1);
	/* A bad header after a value (found by fuzz_ddns_text: leaked). */
	T_EQ_INT(awscred_parse(SL("[default]\naws_access_key_id = AKID\n[de&\n"),
	    "default", &c, err, sizeof(err)), -1);
	T_OK(c.key_id == NULL, "freed on error");
	awscred_free(NULL);
}

static void
test_cloudflare(void)
{
	static const char list[] = "{\"success\":true,\"errors\":[],"
	    "\"messages\":[],\"result\":[{\"id\":\"372e67954025e0ba6aaa6d586b9e0b"
	    "59\",\"zone_id\":\"023e105f4ecef8ad9ca31a8372d0c353\",\"name\":\"*."
	    "pds.example.com\",\"type\":\"A\",\"content\":\"198.51.100.4\","
	    "\"proxied\":true,\"ttl\":1,\"locked\":false}],\"result_info\":{}}";
	struct cf_record	r[2];
	char			err[128], id[64];
	size_t			n = 0;

	T_EQ_INT(cf_answer_parse(list, sizeof(list) - 1, r, 2, &n, err,
	    sizeof(err)), 0);
	T_EQ_INT(n, 1);
	T_EQ_STR(r[0].id, "372e67954025e0ba6aaa6d586b9e0b59");
	T_EQ_STR(r[0].name, "*.pds.example.com");
	T_EQ_STR(r[0].content, "198.51.100.4");
	T_EQ_INT(r[0].proxied, 1);
	T_EQ_INT(r[0].ttl, 1);
	T_EQ_INT(cf_answer_parse(SL("{\"success\":false,\"errors\":[{\"code\":10000,"
	    "\"message\":\"Authentication error\"}],\"result\":null}"), r, 2,
	    &n, err, sizeof(err)), 1);
	T_EQ_STR(err, "code 10000: Authentication error");
	T_EQ_INT(cf_answer_parse(SL("{\"success\":true,\"success\":true}"),
	    NULL, 0, NULL, err, sizeof(err)), -1);
	T_EQ_INT(cf_answer_parse(SL("<html>"), NULL, 0, NULL, err,
	    sizeof(err)), -1);
	T_EQ_INT(cf_answer_parse(SL("{\"success\":true,\"result\":{}}"), r, 2,
	    &n, err, sizeof(err)), -1);
	T_EQ_INT(cf_answer_parse(SL("{\"success\":true,\"result\":[{\"id\":\"../x\","
	    "\"name\":\"a.com\",\"type\":\"A\",\"content\":\"1.2.3.4\",\"ttl\":1}]}"), r, 2, &n, err, sizeof(err)), -1);
	T_EQ_INT(cf_zone_parse(SL("{\"success\":true,\"result\":[{\"id\":\"023e105f"
	    "4ecef8ad9ca31a8372d0c353\",\"name\":\"Example.com\"}]}"),
	    "example.com", id, sizeof(id), err, sizeof(err)), 0);
	T_EQ_STR(id, "023e105f4ecef8ad9ca31a8372d0c353");
	T_EQ_INT(cf_zone_parse(SL("{\"success\":true,\"result\":[]}"),
	    "example.com", id, sizeof(id), err, sizeof(err)), 1);
}

int
main(void)
{
	log_init("test_cron_ddns", LOG_LVL__MAX);
	test_ip();
	test_names();
	test_xml();
	test_route53();
	test_awscred();
	test_cloudflare();
	return t_done("cron_ddns");
}
