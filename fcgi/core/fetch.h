/*
 * fetch.h: one bounded outbound HTTP(S) request through libcurl, for the
 * identity code (PLC directory, DID documents, /.well-known/atproto-did).
 *
 * Every request has a total timeout, a response-size cap enforced while
 * bytes arrive (the transfer is aborted past it), a protocol allow-list
 * (https, plus http only when asked: loopback development setups), at
 * most LIM_FETCH_REDIRECTS redirects under the same allow-list, and no
 * cookies, proxies from the environment or credentials.
 *
 * Error convention: fetch_do() returns 0 when an HTTP response arrived
 * (any status; *status set) and -1 on a transport failure, timeout,
 * refused protocol or oversize body, with a short reason in err.
 */
#ifndef PDS_FETCH_H
#define PDS_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct fetch_req {
	const char	*method;	/* "GET" or "POST" */
	const char	*url;
	const char	*content_type;	/* for a body, else NULL */
	const void	*body;		/* request body (borrowed), or NULL */
	size_t		 bodylen;
	const char	*accept;	/* Accept header, or NULL */
	int64_t		 timeout_ms;	/* whole exchange */
	size_t		 max_bytes;	/* response body cap */
	int		 allow_http;	/* also allow plain http */
	int		 redirects;	/* follow up to LIM_FETCH_REDIRECTS */
};

/* Performs the request; the response body goes into out (reset first;
 * its own max also applies).  Returns 0 with *status, or -1 with err
 * (errsz bytes) set. */
int	fetch_do(const struct fetch_req *r, struct buf *out, long *status,
	    char *err, size_t errsz);

#endif /* PDS_FETCH_H */
