/* The C ABI under misuse and at its edges: NULL everywhere, NULL frees, bad UTF-8, empty
 * and 1 MiB inputs, impossible lengths, ownership of borrowed strings, out-parameters left
 * untouched on failure, many threads on one validator, a key server that is down.
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
    CHECK_RESULT(jwtgate_revoke_jti(NULL, BYTES("x"), 1, 0, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_revoke_jti(v, NULL, 1, 0, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_revoke_subject(NULL, BYTES("x"), 1, 0, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_revoke_subject(v, NULL, 1, 0, NULL), JWTGATE_NULL_PARAMETER);

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
    CHECK_RESULT(jwtgate_revoke_jti(v, bad, sizeof bad, 0, NULL), JWTGATE_INVALID_ARGUMENT);
    CHECK_RESULT(jwtgate_revoke_subject(v, bad, sizeof bad, 0, NULL), JWTGATE_INVALID_ARGUMENT);

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
    CHECK_RESULT(jwtgate_revoke_jti(v, BYTES(jti), strlen(jti), 0, &removed), JWTGATE_OK);
    CHECK(removed == 1, "one cached result dropped, got %zu", removed);
    CHECK_RESULT(validate(v, BYTES(valid_token), tl, &kind), JWTGATE_REVOKED);
    CHECK(strcmp(kind, "revoked") == 0, "revoked kind: %s", kind);
    jwtgate_validator_free(v);

    v = new_validator(config_json);
    CHECK_RESULT(validate(v, BYTES(valid_token), tl, &kind), JWTGATE_OK);
    CHECK_RESULT(jwtgate_revoke_subject(v, BYTES(sub), strlen(sub), 0, NULL), JWTGATE_OK);
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
    test_threads();
    test_key_server_down();
    cJSON_free(config_json);
    free(valid_token);
    return check_summary("c_misuse");
}
