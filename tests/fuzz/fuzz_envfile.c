/*
 * fuzz_envfile.c: libFuzzer entry point for the pds.env parser
 * (config_env_parse in fcgi/core/config.c).  The parser works in place,
 * so the input is copied into its own buffer first.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
fuzz_cb(void *arg, const char *key, size_t keylen, const char *val,
    size_t vallen, size_t lineno)
{
	size_t	*sum = arg;

	/* Touch every byte handed out, so ASan checks the bounds. */
	if (keylen > 0)
		*sum += (unsigned char)key[keylen - 1];
	if (vallen > 0)
		*sum += (unsigned char)val[vallen - 1];
	*sum += lineno;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*p, err[256];
	size_t	 sum = 0;

	if ((p = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(p, data, size);
	(void)config_env_parse(p, size, fuzz_cb, &sum, err, sizeof(err));
	free(p);
	return 0;
}
