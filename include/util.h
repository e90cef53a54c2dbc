/*
 * util — the small helpers every layer shares, written once: the length of an array, GUIDs as
 * .NET writes them, base64 through OpenSSL, "host:port" both ways, mkdir -p, SHA-256 with the
 * digest fetched once, gmtime without glibc's lock, certificate-style host name matching, and
 * bytes derived from a name that two runs agree on.
 *
 * Ownership: nothing here allocates; every function writes into buffers its caller owns. The
 * module knows nothing of requests, scenarios or h2o, and includes nothing of ours but log.h.
 * Its only state is internal: OpenSSL's SHA-256 fetched once per process, and the last second
 * util_gmtime() converted, one per thread. Every function may be called from any thread.
 */
#ifndef MRSMOCK_UTIL_H
#define MRSMOCK_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* The number of elements of array A, a constant expression. A pointer instead of an array does
 * not compile (the test of the Linux kernel's ARRAY_SIZE), so a decayed array cannot slip in. */
#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]) + UTIL_MUST_BE_ARRAY(a))
#define UTIL_IS_POINTER(a) __builtin_types_compatible_p(__typeof__(a), __typeof__(&(a)[0]))
#define UTIL_MUST_BE_ARRAY(a)                                                                      \
    (0 * sizeof(struct { int util_not_an_array : UTIL_IS_POINTER(a) ? -1 : 1; }))

/* --- GUIDs ------------------------------------------------------------------------------------ */

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" and its NUL. */
#define UTIL_GUID_LEN 37

/* Writes the 16 bytes B into OUT as a GUID in .NET's "D" format, lower case: B[0] first, in the
 * order given (RFC 4122's order, not the mixed-endian one of .NET's Guid(byte[])). The bytes are
 * written as they are: no version or variant bits are set. */
void util_guid_format(const uint8_t b[16], char out[UTIL_GUID_LEN]);
/* A new random version-4 GUID as .NET's Guid.NewGuid() makes it (RAND_bytes, then the version
 * and variant bits), formatted by util_guid_format(). Aborts if OpenSSL's generator fails. */
void util_guid_random(char out[UTIL_GUID_LEN]);
/* A new version-4 GUID for what must be unique but need not be secret (a request's id): from a
 * generator of the calling thread's own (xoshiro256**), seeded once per thread with 32 bytes of
 * RAND_bytes, so no lock is shared and no DRBG runs per call. Unique across threads and restarts
 * as random GUIDs are (122 random bits); predictable to someone who has seen earlier ones, which
 * is why the WS-RM sequence identifiers and NTLM challenges do not come from it. */
void util_guid_unique(char out[UTIL_GUID_LEN]);

/* --- base64 (RFC 4648, with padding, through OpenSSL's EVP_EncodeBlock / EVP_DecodeBlock) ----- */

/* Length of the base64 text of N bytes, without a NUL. */
#define UTIL_B64_LEN(n) (((n) + 2) / 3 * 4)

/* Writes the base64 of the LEN bytes at IN into OUT (OUTLEN bytes), NUL-terminated, without line
 * breaks. Returns its length (UTIL_B64_LEN(LEN)), or -1 when OUTLEN is below
 * UTIL_B64_LEN(LEN) + 1 or LEN is beyond what OpenSSL takes (an int); OUT is then "" if it has
 * room for that. */
int util_b64_encode(const uint8_t *in, size_t len, char *out, size_t outlen);
/* Decodes the INLEN bytes of base64 at IN (no NUL needed) into OUT (OUTLEN bytes). Strict: only
 * the alphabet A-Z a-z 0-9 + /, a length that is a multiple of 4, and '=' only as the last one or
 * two characters; no white space or line breaks (EVP_DecodeBlock alone would trim them and read
 * '=' anywhere as 'A'). Bits left over in the last character are ignored, as .NET ignores them.
 * Returns the number of bytes decoded, padding not counted, or -1 when IN is empty (no caller
 * has a use for an empty token), malformed, or decodes to more than OUTLEN bytes. OUT may have
 * been written to when -1 is returned. */
int util_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen);

/* --- host:port -------------------------------------------------------------------------------- */

/* A host name (at most 255 characters) or an address, without brackets, and its NUL. */
#define UTIL_HOST_MAX 256
/* "[" host "]:" port and the NUL. */
#define UTIL_HOSTPORT_MAX (UTIL_HOST_MAX + 2 + 6)

/* Writes HOST and PORT into OUT (OUTLEN bytes) as "host:port", or as "[host]:port" when HOST is
 * an IPv6 literal (contains a ':'). Returns the length written, without the NUL, or -1 when it
 * does not fit (OUT is then "" if OUTLEN is not 0). */
int util_hostport_format(const char *host, unsigned port, char *out, size_t outlen);
/* Splits S, "host:port" or "[v6]:port", into HOST (HOSTLEN bytes, NUL-terminated, brackets
 * removed) and *PORT. The host must not be empty; a host containing ':' must be in brackets,
 * and what is in brackets must contain a ':'. The port is decimal digits only (no sign, no
 * spaces; leading zeros allowed), at most 65535; 0 is accepted (the system picks one). Returns 0,
 * or -1 when S is malformed, a part is missing or the host does not fit in HOSTLEN; HOST and
 * *PORT are then unspecified. Whether the host is a valid name or address is the caller's to
 * check. */
int util_hostport_parse(const char *s, char *host, size_t hostlen, unsigned *port);
/* The length of the host part of the LEN bytes at HOST (a Host header value; no NUL needed):
 * everything before the ':' that starts a port, an IPv6 literal keeping its brackets
 * ("[::1]:443" gives "[::1]", "mail.contoso.com:443" "mail.contoso.com"). A '[' that is never
 * closed is not special: the host then ends at the first ':'. */
size_t util_host_strip_port(const char *host, size_t len);

/* --- files ------------------------------------------------------------------------------------ */

/* mkdir -p: creates PATH and the parents it lacks, each with MODE (less the umask); what exists
 * is left as it is, modes included. Empty components ("a//b", a trailing '/') are skipped.
 * Returns 0 when PATH is then a folder, or -1 with errno: ENOENT for "", ENAMETOOLONG beyond
 * PATH_MAX, ENOTDIR when PATH or a parent is something else, or mkdir(2)'s own. */
int util_mkdirs(const char *path, mode_t mode);

/* --- SHA-256, gmtime -------------------------------------------------------------------------- */

#define UTIL_SHA256_LEN 32

/* Writes the SHA-256 of the LEN bytes at DATA into OUT. The digest is fetched from OpenSSL once
 * per process (EVP_sha256() would look the provider up again, under a lock, on every call).
 * Aborts when OpenSSL has no SHA-256 or the digest fails, which only a broken OpenSSL does. */
void util_sha256(const void *data, size_t len, uint8_t out[UTIL_SHA256_LEN]);
/* gmtime_r(T) into OUT, from a per-thread cache of the last second converted: glibc's gmtime_r
 * takes a process-wide lock, which the request path must not. Returns OUT, or NULL when T
 * cannot be converted. */
struct tm *util_gmtime(time_t t, struct tm *out);

/* --- names ------------------------------------------------------------------------------------ */

/* Whether host NAME is covered by the certificate-style name PATTERN, case-insensitively:
 * equal, or PATTERN "*.rest" and NAME one non-empty label followed by ".rest" (RFC 6125 6.4.3:
 * "*.contoso.com" covers "mail.contoso.com", not "contoso.com" nor "a.b.contoso.com"). No other
 * '*' is special. 1 or 0; NULL never matches. */
int util_host_matches(const char *pattern, const char *name);
/* Bytes that depend on NAME alone, for ids derived from names that two runs must agree on (a
 * GUID per mailbox, a folder id): the first OUTLEN bytes of the SHA-256 of NAME's LEN bytes
 * (LEN SIZE_MAX: NAME is NUL-terminated). Returns 0, or -1 when OUTLEN is above
 * UTIL_SHA256_LEN. */
int util_stable_bytes(const char *name, size_t len, uint8_t *out, size_t outlen);

#endif
