/* The C ABI under misuse and at its edges: NULL everywhere, NULL frees, bad UTF-8, empty
 * and 1 MiB inputs, impossible lengths, ownership of borrowed strings, out-parameters left
 * untouched on failure, many threads on one validator, a key server that is down,
 * revocation times that make no sense (audit finding 5) and messages that must stay bounded
 * and free of secrets (audit finding 7).
 * Meant to run under valgrind: every path must be free of leaks and invalid accesses.
 *
 * Usage: test_misuse path/to/tests/vectors/valid.json */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jwtgate.h"
#include "check.h"

#define BYTES(s) ((const uint8_t *)(s))
/* A value no allocator returns: proves an out-parameter was not written. */
#define UNTOUCHED ((void *)(uintptr_t)0x5a5a5a5a)

static char *config_json;     /* the vectors' "default" configuration */
static char *valid_token;     /* an RS256 token it accepts (exp in 2100) */

static void load_fixture(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    if (!text || fread(text, 1, (size_t)n, f) != (size_t)n) { fprintf(stderr, "read %s\n", path); exit(2); }
    text[n] = 0;
    fclose(f);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "cases"), 0);
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "config"));
    config_json = cJSON_PrintUnformatted(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "configs"), name));
    valid_token = strdup(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "token")));
    cJSON_Delete(doc);
    if (!config_json || !valid_token) { fprintf(stderr, "bad fixture %s\n", path); exit(2); }
}

static jwtgate_validator *new_validator(const char *config) {
    jwtgate_validator *v = NULL;
    jwtgate_error *err = NULL;
    jwtgate_result r = jwtgate_validator_new(BYTES(config), strlen(config), &v, &err);
    CHECK_RESULT(r, JWTGATE_OK);
    if (r != JWTGATE_OK) {
        fprintf(stderr, "  %s\n", jwtgate_error_message(err));
        jwtgate_error_free(err);
    }
    return v;
}

/* The default configuration with one more member, e.g. "\"max_token_bytes\":1048576". */
static char *config_with(const char *member) {
    size_t n = strlen(config_json) + strlen(member) + 2;
    char *out = malloc(n);
    snprintf(out, n, "{%s,%s", member, config_json + 1);
    return out;
}

static jwtgate_result validate(const jwtgate_validator *v, const uint8_t *tok, size_t len,
                               const char **kind) {
    jwtgate_claims *claims = UNTOUCHED;
    jwtgate_error *err = UNTOUCHED;
    jwtgate_result r = jwtgate_validate(v, tok, len, &claims, &err);
    if (r == JWTGATE_OK) {
        CHECK(err == UNTOUCHED, "err written on success");
        CHECK(claims != UNTOUCHED && claims != NULL, "claims not written on success");
        jwtgate_claims_free(claims);
        *kind = "ok";
    } else {
        CHECK(claims == UNTOUCHED, "claims written on failure (%s)", jwtgate_result_name(r));
        CHECK(err != UNTOUCHED && err != NULL, "err not written on failure");
        CHECK(jwtgate_error_code(err) == r, "error code %u != result %u", jwtgate_error_code(err), r);
        *kind = jwtgate_error_kind(err);
        jwtgate_error_free(err);
    }
    return r;
}

static void test_null_everywhere(void) {
    jwtgate_validator *v = new_validator(config_json);
    jwtgate_validator *vout = UNTOUCHED;
    jwtgate_claims *cout = UNTOUCHED;
    jwtgate_error *err = NULL;
    const uint8_t *p = UNTOUCHED;
    size_t n = 77;
    char *s = UNTOUCHED;

    /* validator_new */
    CHECK_RESULT(jwtgate_validator_new(NULL, 10, &vout, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_validator_new(NULL, 0, &vout, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_validator_new(BYTES(config_json), strlen(config_json), NULL, NULL),
                 JWTGATE_NULL_PARAMETER);
    CHECK(vout == UNTOUCHED, "validator out written on failure");
    CHECK_RESULT(jwtgate_validator_new(NULL, 0, NULL, &err), JWTGATE_NULL_PARAMETER);
    CHECK(err != NULL && strcmp(jwtgate_error_kind(err), "null_parameter") == 0, "null_parameter kind");
    CHECK(jwtgate_error_http_status(err) == 500, "misuse is a server fault");
    jwtgate_error_free(err);
    err = NULL;

    /* validate, validate_local, ready */
    size_t tl = strlen(valid_token);
    CHECK_RESULT(jwtgate_validate(NULL, BYTES(valid_token), tl, &cout, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_validate(v, NULL, tl, &cout, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_validate(v, NULL, 0, &cout, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_validate(v, BYTES(valid_token), tl, NULL, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_validate(NULL, NULL, 0, NULL, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_validate_local(NULL, NULL, 0, NULL, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_validate_local(v, BYTES(valid_token), tl, NULL, &err), JWTGATE_NULL_PARAMETER);
    CHECK(err != NULL && strstr(jwtgate_error_message(err), "out") != NULL, "message names the argument");
    jwtgate_error_free(err);
    err = NULL;
    CHECK(cout == UNTOUCHED, "claims out written on failure");
    CHECK_RESULT(jwtgate_validator_ready(NULL, NULL), JWTGATE_NULL_PARAMETER);

    /* claims getters */
    CHECK_RESULT(jwtgate_claims_json(NULL, &p, &n), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_claims_header_json(NULL, &p, &n), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_claims_scopes(NULL, &p, &n), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_claims_require_scopes(NULL, BYTES("a"), 1, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_claims_string(NULL, BYTES("sub"), 3, &p, &n), JWTGATE_NULL_PARAMETER);
    CHECK(p == UNTOUCHED && n == 77, "borrowed outs written on failure");
    CHECK(jwtgate_claims_expires_at(NULL) < 0, "expires_at(NULL) is negative");
    CHECK(jwtgate_claims_id(NULL) == 0, "id(NULL) is 0");
    CHECK(strcmp(jwtgate_claims_source(NULL), "") == 0, "source(NULL) is empty");
    jwtgate_claims *c = NULL;
    CHECK_RESULT(jwtgate_validate(v, BYTES(valid_token), tl, &c, NULL), JWTGATE_OK);
    CHECK_RESULT(jwtgate_claims_json(c, NULL, &n), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_claims_json(c, &p, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_claims_scopes(c, NULL, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_claims_require_scopes(c, NULL, 0, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_claims_string(c, NULL, 3, &p, &n), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_claims_string(c, BYTES("sub"), 3, NULL, &n), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_claims_string(c, BYTES("sub"), 3, &p, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_claims_string(c, BYTES("s\xff" "b"), 3, &p, &n), JWTGATE_INVALID_ARGUMENT);
    CHECK(p == UNTOUCHED && n == 77, "borrowed outs written on failure");
    jwtgate_claims_free(c);

    /* owned strings, revocation */
    CHECK_RESULT(jwtgate_stats_json(NULL, &s), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_stats_json(v, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_metrics_text(NULL, &s), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_metrics_text(v, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_health_json(NULL, &s), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_health_json(v, NULL), JWTGATE_NULL_PARAMETER);
    CHECK(s == UNTOUCHED, "string out written on failure");
    CHECK_RESULT(jwtgate_revoke_jti(NULL, BYTES("x"), 1, 0, NULL, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_revoke_jti(v, NULL, 1, 0, NULL, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_revoke_subject(NULL, BYTES("x"), 1, 0, NULL, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_revoke_subject(v, NULL, 1, 0, NULL, NULL), JWTGATE_NULL_PARAMETER);

    /* error getters and frees */
    CHECK(strcmp(jwtgate_error_kind(NULL), "") == 0, "kind(NULL)");
    CHECK(strcmp(jwtgate_error_message(NULL), "") == 0, "message(NULL)");
    CHECK(jwtgate_error_code(NULL) == 0, "code(NULL)");
    CHECK(jwtgate_error_http_status(NULL) == 0, "http_status(NULL)");
    jwtgate_error_free(NULL);
    jwtgate_claims_free(NULL);
    jwtgate_validator_free(NULL);
    jwtgate_string_free(NULL);
    jwtgate_validator_free(v);
}

static void test_bad_utf8_and_lengths(void) {
    static const uint8_t bad[] = {'e', 'y', 0xc3, 0x28, '.', 0xff, '.', 0x80};
    jwtgate_validator *v = new_validator(config_json);
    const char *kind = "";
    jwtgate_error *err = NULL;
    jwtgate_validator *vout = UNTOUCHED;

    CHECK_RESULT(validate(v, bad, sizeof bad, &kind), JWTGATE_MALFORMED);
    CHECK(strcmp(kind, "malformed") == 0, "bad UTF-8 token kind: %s", kind);
    CHECK_RESULT(jwtgate_validator_new(bad, sizeof bad, &vout, &err), JWTGATE_CONFIG);
    CHECK(vout == UNTOUCHED, "validator out written on failure");
    CHECK(strstr(jwtgate_error_message(err), "UTF-8") != NULL, "message says UTF-8: %s",
          jwtgate_error_message(err));
    jwtgate_error_free(err);
    CHECK_RESULT(jwtgate_revoke_jti(v, bad, sizeof bad, 0, NULL, NULL), JWTGATE_INVALID_ARGUMENT);
    CHECK_RESULT(jwtgate_revoke_subject(v, bad, sizeof bad, 0, NULL, NULL), JWTGATE_INVALID_ARGUMENT);

    /* A length no object can have is refused before anything is read. */
    CHECK_RESULT(validate(v, BYTES("x"), SIZE_MAX, &kind), JWTGATE_INVALID_ARGUMENT);
    CHECK_RESULT(jwtgate_validator_new(BYTES("{"), SIZE_MAX, &vout, NULL), JWTGATE_INVALID_ARGUMENT);

    /* Empty input: a real (non-NULL) pointer with length 0. */
    CHECK_RESULT(validate(v, BYTES(""), 0, &kind), JWTGATE_MALFORMED);
    CHECK_RESULT(jwtgate_validator_new(BYTES(""), 0, &vout, NULL), JWTGATE_CONFIG);
    CHECK_RESULT(jwtgate_validator_new(BYTES("{}"), 2, &vout, NULL), JWTGATE_CONFIG);
    CHECK_RESULT(jwtgate_validator_new(BYTES("null"), 4, &vout, NULL), JWTGATE_CONFIG);
    CHECK(vout == UNTOUCHED, "validator out written on failure");

    /* A token with a NUL byte inside is just another malformed token (lengths, not C
     * strings, delimit input). */
    char with_nul[64];
    memcpy(with_nul, valid_token, 20);
    with_nul[10] = 0;
    CHECK_RESULT(validate(v, BYTES(with_nul), 20, &kind), JWTGATE_MALFORMED);
    jwtgate_validator_free(v);
}

static void test_one_mebibyte(void) {
    const size_t mib = 1 << 20;
    uint8_t *big = malloc(mib + 1);
    /* A compact JWS attempt (header "{}", three parts) that the core must parse, then refuse. */
    memset(big, 'a', mib + 1);
    memcpy(big, "e30.", 4);
    big[200] = '.';
    const char *kind = "";

    jwtgate_validator *v = new_validator(config_json);
    CHECK_RESULT(validate(v, big, mib, &kind), JWTGATE_TOKEN_TOO_LARGE);
    CHECK(strcmp(kind, "token_too_large") == 0, "1 MiB kind: %s", kind);
    jwtgate_validator_free(v);

    /* With the largest allowed limit, 1 MiB is parsed (and refused as malformed), one byte
     * more is too large. */
    char *cfg = config_with("\"max_token_bytes\":1048576");
    v = new_validator(cfg);
    free(cfg);
    CHECK_RESULT(validate(v, big, mib, &kind), JWTGATE_MALFORMED);
    CHECK_RESULT(validate(v, big, mib + 1, &kind), JWTGATE_TOKEN_TOO_LARGE);
    memset(big, 0xff, mib);
    CHECK_RESULT(validate(v, big, mib, &kind), JWTGATE_MALFORMED);
    jwtgate_validator_free(v);
    free(big);

    /* A 1 MiB configuration document is refused cleanly. */
    char *huge = malloc(mib + 1);
    memset(huge, ' ', mib);
    huge[0] = '{';
    huge[mib - 1] = '}';
    huge[mib] = 0;
    jwtgate_validator *vout = UNTOUCHED;
    CHECK_RESULT(jwtgate_validator_new(BYTES(huge), mib, &vout, NULL), JWTGATE_CONFIG);
    free(huge);
}

static void test_ownership_and_features(void) {
    jwtgate_validator *v = new_validator(config_json);
    size_t tl = strlen(valid_token);
    jwtgate_claims *c = NULL;
    jwtgate_error *err = NULL;
    CHECK_RESULT(jwtgate_validate(v, BYTES(valid_token), tl, &c, &err), JWTGATE_OK);
    CHECK(err == NULL, "err written on success");

    /* Claims outlive their validator. */
    jwtgate_validator_free(v);
    const uint8_t *p = NULL;
    size_t n = 0;
    CHECK_RESULT(jwtgate_claims_json(c, &p, &n), JWTGATE_OK);
    cJSON *claims = cJSON_ParseWithLength((const char *)p, n);
    CHECK(claims != NULL, "claims JSON parses");
    const char *jti = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(claims, "jti"));
    const char *sub = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(claims, "sub"));
    CHECK(jti && sub, "jti and sub present");

    /* String claims without a JSON parser: what the JSON says; NULL when absent or not a string. */
    CHECK_RESULT(jwtgate_claims_string(c, BYTES("sub"), 3, &p, &n), JWTGATE_OK);
    CHECK(p != NULL && n == strlen(sub) && memcmp(p, sub, n) == 0, "sub: %.*s", (int)n, (const char *)p);
    CHECK_RESULT(jwtgate_claims_string(c, BYTES("jti"), 3, &p, &n), JWTGATE_OK);
    CHECK(p != NULL && n == strlen(jti) && memcmp(p, jti, n) == 0, "jti: %.*s", (int)n, (const char *)p);
    const char *iss = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(claims, "iss"));
    CHECK_RESULT(jwtgate_claims_string(c, BYTES("iss"), 3, &p, &n), JWTGATE_OK);
    CHECK(iss && p != NULL && n == strlen(iss) && memcmp(p, iss, n) == 0, "iss: %.*s", (int)n, (const char *)p);
    CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(claims, "exp")), "exp is a number");
    CHECK_RESULT(jwtgate_claims_string(c, BYTES("exp"), 3, &p, &n), JWTGATE_OK);
    CHECK(p == NULL && n == 0, "a number is not a string");
    CHECK_RESULT(jwtgate_claims_string(c, BYTES("no-such-claim"), 13, &p, &n), JWTGATE_OK);
    CHECK(p == NULL && n == 0, "an absent claim");
    CHECK(fabs(jwtgate_claims_expires_at(c) - 4102444800.0) < 1, "expires_at %f", jwtgate_claims_expires_at(c));

    /* Scopes: the core's parsing of `scope`, borrowed twice = same pointer. */
    const uint8_t *s1 = NULL, *s2 = NULL;
    size_t l1 = 0, l2 = 0;
    CHECK_RESULT(jwtgate_claims_scopes(c, &s1, &l1), JWTGATE_OK);
    CHECK_RESULT(jwtgate_claims_scopes(c, &s2, &l2), JWTGATE_OK);
    CHECK(s1 == s2 && l1 == l2, "scopes computed once");
    CHECK(l1 == strlen("openid profile email read:items write:items") &&
              memcmp(s1, "openid profile email read:items write:items", l1) == 0,
          "scopes: %.*s", (int)l1, (const char *)s1);
    CHECK_RESULT(jwtgate_claims_require_scopes(c, BYTES("read:items  write:items"), 23, NULL), JWTGATE_OK);
    CHECK_RESULT(jwtgate_claims_require_scopes(c, BYTES(""), 0, NULL), JWTGATE_OK);
    CHECK_RESULT(jwtgate_claims_require_scopes(c, BYTES("read:items admin"), 16, &err),
                 JWTGATE_INSUFFICIENT_SCOPE);
    CHECK(strcmp(jwtgate_error_kind(err), "insufficient_scope") == 0, "kind");
    CHECK(jwtgate_error_code(err) == 1400 && jwtgate_error_http_status(err) == 403, "code/status");
    CHECK(strstr(jwtgate_error_message(err), "admin") != NULL, "message names the scope: %s",
          jwtgate_error_message(err));
    jwtgate_error_free(err);
    err = NULL;
    jwtgate_claims_free(c);

    /* A cache hit hands out the same claims (same id); a new validator, new claims. */
    v = new_validator(config_json);
    jwtgate_claims *first = NULL, *second = NULL;
    CHECK_RESULT(jwtgate_validate(v, BYTES(valid_token), tl, &first, NULL), JWTGATE_OK);
    CHECK_RESULT(jwtgate_validate(v, BYTES(valid_token), tl, &second, NULL), JWTGATE_OK);
    CHECK(strcmp(jwtgate_claims_source(first), "local") == 0, "first: %s", jwtgate_claims_source(first));
    CHECK(strcmp(jwtgate_claims_source(second), "cache") == 0, "second: %s", jwtgate_claims_source(second));
    CHECK(jwtgate_claims_id(first) != 0 && jwtgate_claims_id(first) == jwtgate_claims_id(second),
          "ids %llu %llu", (unsigned long long)jwtgate_claims_id(first),
          (unsigned long long)jwtgate_claims_id(second));
    jwtgate_claims_free(first);
    jwtgate_validator_free(v);
    v = new_validator(config_json);
    CHECK_RESULT(jwtgate_validate(v, BYTES(valid_token), tl, &first, NULL), JWTGATE_OK);
    CHECK(jwtgate_claims_id(first) != jwtgate_claims_id(second), "another validator, other claims");
    jwtgate_claims_free(first);
    jwtgate_claims_free(second);
    jwtgate_validator_free(v);

    /* Revocation by jti and by subject; stats, metrics, health are owned strings. */
    v = new_validator(config_json);
    const char *kind = "";
    CHECK_RESULT(validate(v, BYTES(valid_token), tl, &kind), JWTGATE_OK);
    size_t removed = 99;
    CHECK_RESULT(jwtgate_revoke_jti(v, BYTES(jti), strlen(jti), 0, &removed, NULL), JWTGATE_OK);
    CHECK(removed == 1, "one cached result dropped, got %zu", removed);
    CHECK_RESULT(validate(v, BYTES(valid_token), tl, &kind), JWTGATE_REVOKED);
    CHECK(strcmp(kind, "revoked") == 0, "revoked kind: %s", kind);
    jwtgate_validator_free(v);

    v = new_validator(config_json);
    CHECK_RESULT(validate(v, BYTES(valid_token), tl, &kind), JWTGATE_OK);
    CHECK_RESULT(jwtgate_revoke_subject(v, BYTES(sub), strlen(sub), 0, NULL, NULL), JWTGATE_OK);
    CHECK_RESULT(validate(v, BYTES(valid_token), tl, &kind), JWTGATE_REVOKED);
    cJSON_Delete(claims);

    char *stats = NULL, *metrics = NULL, *health = NULL;
    CHECK_RESULT(jwtgate_stats_json(v, &stats), JWTGATE_OK);
    cJSON *st = cJSON_Parse(stats);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "validations_ok")) == 1,
          "stats: %s", stats);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "validations_failed")) == 1,
          "stats: %s", stats);
    cJSON_Delete(st);
    CHECK_RESULT(jwtgate_metrics_text(v, &metrics), JWTGATE_OK);
    CHECK(strstr(metrics, "jwtgate_validations_total{outcome=\"error\",kind=\"revoked\"} 1") != NULL,
          "metrics: %s", metrics);
    CHECK_RESULT(jwtgate_health_json(v, &health), JWTGATE_OK);
    CHECK(strstr(health, "\"key_source\":\"static\"") != NULL, "health: %s", health);
    jwtgate_string_free(stats);
    jwtgate_string_free(metrics);
    jwtgate_string_free(health);
    jwtgate_validator_free(v);

    /* Static strings. */
    CHECK(strlen(jwtgate_version()) > 0, "version");
    CHECK(strcmp(jwtgate_result_name(JWTGATE_OK), "ok") == 0, "result name ok");
    CHECK(strcmp(jwtgate_result_name(JWTGATE_EXPIRED), "expired") == 0, "result name expired");
    CHECK(strcmp(jwtgate_result_name(12345), "") == 0, "unknown result name");
}

static void test_messages_with_nul(void) {
    /* A required claim whose name holds a NUL: the message must stay a whole C string. */
    char *cfg = config_with("\"required_claims\":[\"a\\u0000b\"]");
    jwtgate_validator *v = new_validator(cfg);
    free(cfg);
    jwtgate_claims *c = NULL;
    jwtgate_error *err = NULL;
    CHECK_RESULT(jwtgate_validate(v, BYTES(valid_token), strlen(valid_token), &c, &err),
                 JWTGATE_MISSING_CLAIM);
    const char *m = jwtgate_error_message(err);
    CHECK(strstr(m, "b") != NULL && strstr(m, "missing") != NULL, "message kept whole: %s", m);
    jwtgate_error_free(err);
    jwtgate_validator_free(v);
}

/* A string claim of the valid token (strdup'ed; the caller frees it). */
static char *valid_token_claim(const char *name) {
    jwtgate_validator *v = new_validator(config_json);
    jwtgate_claims *c = NULL;
    CHECK_RESULT(jwtgate_validate(v, BYTES(valid_token), strlen(valid_token), &c, NULL), JWTGATE_OK);
    const uint8_t *p = NULL;
    size_t n = 0;
    jwtgate_claims_json(c, &p, &n);
    cJSON *doc = cJSON_ParseWithLength((const char *)p, n);
    char *value = strdup(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, name)));
    cJSON_Delete(doc);
    jwtgate_claims_free(c);
    jwtgate_validator_free(v);
    return value;
}

typedef jwtgate_result (*revoke_fn)(const jwtgate_validator *, const uint8_t *, size_t, double,
                                    size_t *, jwtgate_error **);

/* One refused revocation: JWTGATE_CONFIG, a message naming `field`, `removed` untouched. */
static void check_revocation_refused(revoke_fn revoke, const jwtgate_validator *v,
                                     const char *id, double when, const char *field,
                                     const char *label) {
    const size_t untouched = (size_t)0x5a5a5a5a;
    size_t removed = untouched;
    jwtgate_error *err = UNTOUCHED;
    jwtgate_result r = revoke(v, BYTES(id), strlen(id), when, &removed, &err);
    CHECK(r == JWTGATE_CONFIG, "%s: got %s, want config", label, jwtgate_result_name(r));
    CHECK(removed == untouched, "%s: removed written on failure (%zu)", label, removed);
    if (r != JWTGATE_OK && err != UNTOUCHED) {
        CHECK(jwtgate_error_code(err) == JWTGATE_CONFIG, "%s: error code %u", label,
              jwtgate_error_code(err));
        CHECK(strstr(jwtgate_error_message(err), field) != NULL, "%s: message names %s: %s",
              label, field, jwtgate_error_message(err));
        jwtgate_error_free(err);
    } else {
        CHECK(0, "%s: no error object", label);
    }
}

/* Audit finding 5: revocation never fails open. NaN, infinities and times in the past (for
 * `until`) or negative / in the future (for `issued_before`) used to be read as "none" (for
 * the life of the validator, or now) or handed to the core, which returned success either
 * way; a caller's mistake then revoked something else than asked, or (a past `until`)
 * nothing at all while reporting success. They are JWTGATE_CONFIG now, and the token
 * keeps validating; exactly 0 is still the "none" sentinel. */
static void test_revocation_never_fails_open(void) {
    char *jti = valid_token_claim("jti");
    char *sub = valid_token_claim("sub");
    size_t tl = strlen(valid_token);
    double now = (double)time(NULL);
    const char *kind = "";

    jwtgate_validator *v = new_validator(config_json);
    CHECK_RESULT(validate(v, BYTES(valid_token), tl, &kind), JWTGATE_OK); /* now cached */
    check_revocation_refused(jwtgate_revoke_jti, v, jti, NAN, "until", "jti until=NAN");
    check_revocation_refused(jwtgate_revoke_jti, v, jti, INFINITY, "until", "jti until=INFINITY");
    check_revocation_refused(jwtgate_revoke_jti, v, jti, -INFINITY, "until", "jti until=-INFINITY");
    check_revocation_refused(jwtgate_revoke_jti, v, jti, 1.0, "until", "jti until=1.0 (past)");
    check_revocation_refused(jwtgate_revoke_jti, v, jti, -1.0, "until", "jti until=-1");
    check_revocation_refused(jwtgate_revoke_jti, v, jti, now - 60, "until", "jti until=now-60");
    check_revocation_refused(jwtgate_revoke_jti, v, "", 0, "jti", "empty jti");
    CHECK_RESULT(validate(v, BYTES(valid_token), tl, &kind), JWTGATE_OK);
    /* A real future time revokes (and drops the cached result). */
    size_t removed = 99;
    CHECK_RESULT(jwtgate_revoke_jti(v, BYTES(jti), strlen(jti), now + 3600, &removed, NULL),
                 JWTGATE_OK);
    CHECK(removed == 1, "until=now+3600: one cached result dropped, got %zu", removed);
    CHECK_RESULT(validate(v, BYTES(valid_token), tl, &kind), JWTGATE_REVOKED);
    jwtgate_validator_free(v);

    /* 0: for the life of the validator. */
    v = new_validator(config_json);
    CHECK_RESULT(validate(v, BYTES(valid_token), tl, &kind), JWTGATE_OK);
    jwtgate_error *err = UNTOUCHED;
    removed = 99;
    CHECK_RESULT(jwtgate_revoke_jti(v, BYTES(jti), strlen(jti), 0, &removed, &err), JWTGATE_OK);
    CHECK(err == UNTOUCHED, "err written on success");
    CHECK(removed == 1, "until=0: one cached result dropped, got %zu", removed);
    CHECK_RESULT(validate(v, BYTES(valid_token), tl, &kind), JWTGATE_REVOKED);
    jwtgate_validator_free(v);

    v = new_validator(config_json);
    CHECK_RESULT(validate(v, BYTES(valid_token), tl, &kind), JWTGATE_OK);
    check_revocation_refused(jwtgate_revoke_subject, v, sub, NAN, "issued_before", "sub issued_before=NAN");
    check_revocation_refused(jwtgate_revoke_subject, v, sub, INFINITY, "issued_before", "sub issued_before=INFINITY");
    check_revocation_refused(jwtgate_revoke_subject, v, sub, -1.0, "issued_before", "sub issued_before=-1");
    check_revocation_refused(jwtgate_revoke_subject, v, sub, now + 3600, "issued_before", "sub issued_before=now+3600");
    check_revocation_refused(jwtgate_revoke_subject, v, "", 0, "sub", "empty sub");
    CHECK_RESULT(validate(v, BYTES(valid_token), tl, &kind), JWTGATE_OK);
    /* 0: now. */
    removed = 99;
    CHECK_RESULT(jwtgate_revoke_subject(v, BYTES(sub), strlen(sub), 0, &removed, NULL), JWTGATE_OK);
    CHECK(removed == 1, "issued_before=0: one cached result dropped, got %zu", removed);
    CHECK_RESULT(validate(v, BYTES(valid_token), tl, &kind), JWTGATE_REVOKED);
    jwtgate_validator_free(v);
    free(jti);
    free(sub);
}

static char *base64url(const char *in, size_t n) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *b = (const unsigned char *)in;
    char *out = malloc(n / 3 * 4 + 5);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)b[i] << 16;
        if (i + 1 < n) w |= (uint32_t)b[i + 1] << 8;
        if (i + 2 < n) w |= b[i + 2];
        out[o++] = alphabet[(w >> 18) & 63];
        out[o++] = alphabet[(w >> 12) & 63];
        if (i + 1 < n) out[o++] = alphabet[(w >> 6) & 63];
        if (i + 2 < n) out[o++] = alphabet[w & 63];
    }
    out[o] = 0;
    return out;
}

/* Audit finding 7: messages carry neither secrets nor unbounded attacker text. */
static void test_messages_bounded_and_secret_free(void) {
    /* A numeric secret used to be quoted by serde ("invalid type: integer `123456789123`"). */
    const char *members[] = {"\"client_secret\":123456789123", "\"shared_secret\":123456789123"};
    for (size_t i = 0; i < sizeof members / sizeof *members; i++) {
        char *cfg = config_with(members[i]);
        jwtgate_validator *vout = UNTOUCHED;
        jwtgate_error *err = NULL;
        CHECK_RESULT(jwtgate_validator_new(BYTES(cfg), strlen(cfg), &vout, &err), JWTGATE_CONFIG);
        CHECK(vout == UNTOUCHED, "validator out written on failure");
        const char *m = jwtgate_error_message(err);
        CHECK(strstr(m, "23456789") == NULL, "the secret is echoed: %s", m);
        CHECK(strstr(m, "secret") != NULL, "the message names the field: %s", m);
        jwtgate_error_free(err);
        free(cfg);
    }

    /* A duplicate header member with a 5,000-character name (and an ESC in it) used to be
     * quoted whole. The token is the valid one with this header instead of its own. */
    enum { NAME = 5000 };
    size_t cap = 2 * NAME + 128;
    char *header = malloc(cap);
    char *name = malloc(NAME + 1);
    memset(name, 'n', NAME);
    memcpy(name, "\\u001b[31m", 10); /* the JSON escape of ESC, then "[31m" */
    name[NAME] = 0;
    int hl = snprintf(header, cap, "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"%s\":1,\"%s\":2}", name, name);
    char *encoded = base64url(header, (size_t)hl);
    const char *rest = strchr(valid_token, '.');
    size_t tl = strlen(encoded) + strlen(rest);
    char *token = malloc(tl + 1);
    snprintf(token, tl + 1, "%s%s", encoded, rest);

    jwtgate_validator *v = new_validator(config_json);
    jwtgate_claims *c = UNTOUCHED;
    jwtgate_error *err = NULL;
    CHECK_RESULT(jwtgate_validate(v, BYTES(token), tl, &c, &err), JWTGATE_MALFORMED);
    const char *m = jwtgate_error_message(err);
    CHECK(strlen(m) < 300, "message of %zu bytes", strlen(m));
    CHECK(strstr(m, "duplicate") != NULL, "message says why: %.200s", m);
    CHECK(strchr(m, 0x1b) == NULL, "a control character reached the message");
    jwtgate_error_free(err);
    jwtgate_validator_free(v);
    free(token);
    free(encoded);
    free(name);
    free(header);
}

struct worker { jwtgate_validator *v; int ok; };

static void *worker_main(void *arg) {
    struct worker *w = arg;
    size_t tl = strlen(valid_token);
    for (int i = 0; i < 200; i++) {
        jwtgate_claims *c = NULL;
        jwtgate_error *err = NULL;
        /* Alternate a good token and a truncated (bad-signature) one. */
        size_t len = (i % 2) ? tl - 3 : tl;
        jwtgate_result r = jwtgate_validate(w->v, BYTES(valid_token), len, &c, &err);
        if ((i % 2 == 0 && r == JWTGATE_OK) || (i % 2 == 1 && r != JWTGATE_OK)) w->ok++;
        jwtgate_claims_free(c);
        jwtgate_error_free(err);
    }
    return NULL;
}

static void test_threads(void) {
    enum { THREADS = 8 };
    jwtgate_validator *v = new_validator(config_json);
    pthread_t t[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i].v = v;
        w[i].ok = 0;
        pthread_create(&t[i], NULL, worker_main, &w[i]);
    }
    int total = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        total += w[i].ok;
    }
    CHECK(total == THREADS * 200, "threads: %d of %d as expected", total, THREADS * 200);
    jwtgate_validator_free(v);
}

static void test_key_server_down(void) {
    /* Port 1 on loopback: nothing listens, the connection is refused at once. */
    const char *cfg =
        "{\"issuer\":\"https://issuer.test\",\"audience\":\"https://api.test\","
        "\"jwks_uri\":\"http://127.0.0.1:1/jwks\",\"fetch_timeout\":2}";
    jwtgate_validator *v = new_validator(cfg);
    size_t tl = strlen(valid_token);
    const char *kind = "";
    jwtgate_result first = validate(v, BYTES("e30.e30.e30"), 11, &kind);
    CHECK(first == JWTGATE_MALFORMED, "a malformed token needs no keys: %s", kind);

    jwtgate_claims *c = UNTOUCHED;
    jwtgate_error *err = NULL;
    jwtgate_result r = jwtgate_validate_local(v, BYTES(valid_token), tl, &c, &err);
    CHECK(r == JWTGATE_KEYS_NOT_LOADED || r == JWTGATE_JWKS_UNAVAILABLE,
          "local validation without keys: %s", jwtgate_result_name(r));
    CHECK(c == UNTOUCHED, "claims out written on failure");
    CHECK(err && jwtgate_error_http_status(err) == 503, "unavailable is 503");
    jwtgate_error_free(err);
    err = NULL;
    CHECK_RESULT(validate(v, BYTES(valid_token), tl, &kind), JWTGATE_JWKS_UNAVAILABLE);
    r = jwtgate_validator_ready(v, &err);
    CHECK_RESULT(r, JWTGATE_JWKS_UNAVAILABLE);
    jwtgate_error_free(err);
    jwtgate_validator_free(v);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s tests/vectors/valid.json\n", argv[0]);
        return 2;
    }
    load_fixture(argv[1]);
    test_null_everywhere();
    test_bad_utf8_and_lengths();
    test_one_mebibyte();
    test_ownership_and_features();
    test_messages_with_nul();
    test_revocation_never_fails_open();
    test_messages_bounded_and_secret_free();
    test_threads();
    test_key_server_down();
    cJSON_free(config_json);
    free(valid_token);
    return check_summary("c_misuse");
}
