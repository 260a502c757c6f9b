/* Keys and the result cache by hand (issue #9): jwtgate_validator_refresh_keys and
 * jwtgate_validator_clear_cache, on a single-issuer validator, on a two-issuer one (the
 * shared vectors' "two_issuers") and on one whose key server is down.
 * Meant to run under valgrind: every path must be free of leaks and invalid accesses.
 *
 * Usage: test_keys path/to/tests/vectors/valid.json path/to/tests/vectors/issuers.json */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwtgate.h"
#include "check.h"

#define BYTES(s) ((const uint8_t *)(s))
/* A value no allocator returns: proves an out-parameter was not written. */
#define UNTOUCHED ((void *)(uintptr_t)0x5a5a5a5a)

static cJSON *load_json(const char *path) {
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
    if (!doc) { fprintf(stderr, "bad JSON in %s\n", path); exit(2); }
    return doc;
}

/* The case named `name` of a vector file (or its first case when `name` is NULL). */
static const cJSON *vector_case(const cJSON *doc, const char *name) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases")) {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "name"));
        if (!name || (n && strcmp(n, name) == 0)) return c;
    }
    fprintf(stderr, "no vector case %s\n", name ? name : "(first)");
    exit(2);
}

/* The configuration a case names, as compact JSON (cJSON_free it). */
static char *case_config(const cJSON *doc, const cJSON *c) {
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "config"));
    return cJSON_PrintUnformatted(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "configs"), name));
}

static const char *case_token(const cJSON *c) {
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "token"));
}

static jwtgate_validator *new_validator(const char *config) {
    jwtgate_validator *v = NULL;
    jwtgate_error *err = NULL;
    jwtgate_result r = jwtgate_validator_new(BYTES(config), strlen(config), &v, &err);
    CHECK_RESULT(r, JWTGATE_OK);
    if (r != JWTGATE_OK) {
        fprintf(stderr, "  %s\n", jwtgate_error_message(err));
        jwtgate_error_free(err);
        exit(1);
    }
    return v;
}

/* Validates `token`; returns the result and where the answer came from ("cache", "local"). */
static jwtgate_result validate(const jwtgate_validator *v, const char *token, const char **source) {
    jwtgate_claims *c = NULL;
    jwtgate_result r = jwtgate_validate(v, BYTES(token), strlen(token), &c, NULL);
    *source = r == JWTGATE_OK ? jwtgate_claims_source(c) : ""; /* static */
    jwtgate_claims_free(c);
    return r;
}

/* refresh_keys with a name (NUL-terminated here; the ABI takes a length) that must fail with
 * `want`, leave `err` set to an error of that code whose message contains `needle`. */
static void check_refresh_refused(const jwtgate_validator *v, const uint8_t *issuer, size_t len,
                                  jwtgate_result want, const char *needle, const char *label) {
    jwtgate_error *err = UNTOUCHED;
    jwtgate_result r = jwtgate_validator_refresh_keys(v, issuer, len, &err);
    CHECK(r == want, "%s: got %s, want %s", label, jwtgate_result_name(r), jwtgate_result_name(want));
    if (r == JWTGATE_OK || err == UNTOUCHED || err == NULL) {
        CHECK(0, "%s: no error object", label);
        return;
    }
    CHECK(jwtgate_error_code(err) == (uint32_t)want, "%s: error code %u", label, jwtgate_error_code(err));
    CHECK(strstr(jwtgate_error_message(err), needle) != NULL, "%s: message lacks %s: %s", label,
          needle, jwtgate_error_message(err));
    jwtgate_error_free(err);
}

static void test_refresh_keys_static(const char *config) {
    jwtgate_validator *v = new_validator(config);
    jwtgate_error *err = UNTOUCHED;

    /* Every issuer (NULL or a zero length): static keys have nothing to fetch. */
    CHECK_RESULT(jwtgate_validator_refresh_keys(v, NULL, 0, &err), JWTGATE_OK);
    CHECK(err == UNTOUCHED, "err written on success");
    CHECK_RESULT(jwtgate_validator_refresh_keys(v, BYTES(""), 0, NULL), JWTGATE_OK);
    CHECK_RESULT(jwtgate_validator_refresh_keys(v, BYTES("https://issuer.test"), 19, &err), JWTGATE_OK);
    CHECK(err == UNTOUCHED, "err written on success");

    /* A name that is not configured is the caller's configuration mistake, named. */
    const char *unknown = "https://nobody.test";
    check_refresh_refused(v, BYTES(unknown), strlen(unknown), JWTGATE_CONFIG, "nobody.test",
                          "unknown issuer");
    /* Exact comparison (RFC 7519 §4.1.1): a trailing slash is another issuer. */
    check_refresh_refused(v, BYTES("https://issuer.test/"), 20, JWTGATE_CONFIG, "issuer",
                          "issuer with a trailing slash");
    /* A prefix of the configured name is not it either (the length, not a NUL, ends it). */
    check_refresh_refused(v, BYTES("https://issuer.test"), 10, JWTGATE_CONFIG, "issuer",
                          "a prefix of the issuer");

    static const uint8_t bad[] = {'h', 't', 0xc3, 0x28, 0xff};
    check_refresh_refused(v, bad, sizeof bad, JWTGATE_INVALID_ARGUMENT, "UTF-8", "invalid UTF-8");
    /* NULL with a length is a mistake, never read as "every issuer". */
    check_refresh_refused(v, NULL, 5, JWTGATE_NULL_PARAMETER, "issuer", "NULL issuer, length 5");
    check_refresh_refused(v, BYTES("x"), SIZE_MAX, JWTGATE_INVALID_ARGUMENT, "issuer",
                          "impossible length");
    CHECK_RESULT(jwtgate_validator_refresh_keys(NULL, NULL, 0, NULL), JWTGATE_NULL_PARAMETER);
    err = NULL;
    CHECK_RESULT(jwtgate_validator_refresh_keys(NULL, NULL, 0, &err), JWTGATE_NULL_PARAMETER);
    CHECK(err && strcmp(jwtgate_error_kind(err), "null_parameter") == 0, "null_parameter kind");
    jwtgate_error_free(err);
    jwtgate_validator_free(v);
}

static void test_clear_cache(const char *config, const char *token) {
    jwtgate_validator *v = new_validator(config);
    const char *source = "";
    size_t removed = 99;

    CHECK_RESULT(jwtgate_validator_clear_cache(v, &removed), JWTGATE_OK);
    CHECK(removed == 0, "empty cache: %zu removed", removed);
    for (int i = 0; i < 3; i++) CHECK_RESULT(validate(v, token, &source), JWTGATE_OK);
    CHECK(strcmp(source, "cache") == 0, "third validation from %s", source);

    removed = 99;
    CHECK_RESULT(jwtgate_validator_clear_cache(v, &removed), JWTGATE_OK);
    CHECK(removed == 1, "one cached result, %zu removed", removed);
    /* The token is checked afresh, then cached again. */
    CHECK_RESULT(validate(v, token, &source), JWTGATE_OK);
    CHECK(strcmp(source, "local") == 0, "after clear_cache: from %s", source);
    CHECK_RESULT(validate(v, token, &source), JWTGATE_OK);
    CHECK(strcmp(source, "cache") == 0, "cached again: from %s", source);

    char *health = NULL;
    CHECK_RESULT(jwtgate_health_json(v, &health), JWTGATE_OK);
    CHECK(strstr(health, "\"cache_entries\":1") != NULL, "health: %s", health);
    jwtgate_string_free(health);

    /* `removed` is optional; a NULL validator is refused and writes nothing. */
    CHECK_RESULT(jwtgate_validator_clear_cache(v, NULL), JWTGATE_OK);
    removed = 99;
    CHECK_RESULT(jwtgate_validator_clear_cache(NULL, &removed), JWTGATE_NULL_PARAMETER);
    CHECK(removed == 99, "removed written on failure");
    CHECK_RESULT(jwtgate_validator_clear_cache(NULL, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(validate(v, token, &source), JWTGATE_OK);
    CHECK(strcmp(source, "local") == 0, "after clear_cache(v, NULL): from %s", source);
    jwtgate_validator_free(v);
}

static void test_two_issuers(const cJSON *issuers) {
    const cJSON *a = vector_case(issuers, "issuer A's token");
    const cJSON *b = vector_case(issuers, "issuer B's token");
    char *config = case_config(issuers, a);
    jwtgate_validator *v = new_validator(config);
    cJSON_free(config);
    const char *source = "";

    CHECK_RESULT(jwtgate_validator_refresh_keys(v, NULL, 0, NULL), JWTGATE_OK);
    CHECK_RESULT(jwtgate_validator_refresh_keys(v, BYTES("https://a.issuer.test"), 21, NULL), JWTGATE_OK);
    CHECK_RESULT(jwtgate_validator_refresh_keys(v, BYTES("https://b.issuer.test"), 21, NULL), JWTGATE_OK);
    check_refresh_refused(v, BYTES("https://c.issuer.test"), 21, JWTGATE_CONFIG, "c.issuer.test",
                          "two issuers, a third named");

    CHECK_RESULT(validate(v, case_token(a), &source), JWTGATE_OK);
    CHECK_RESULT(validate(v, case_token(b), &source), JWTGATE_OK);
    size_t removed = 0;
    CHECK_RESULT(jwtgate_validator_clear_cache(v, &removed), JWTGATE_OK);
    CHECK(removed == 2, "one result per issuer, %zu removed", removed);

    char *health = NULL;
    CHECK_RESULT(jwtgate_health_json(v, &health), JWTGATE_OK);
    cJSON *h = cJSON_Parse(health);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(h, "issuers");
    CHECK(cJSON_GetArraySize(list) == 2, "health lists both issuers: %s", health);
    const char *first = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(list, 0), "issuer"));
    const char *second = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(list, 1), "issuer"));
    CHECK(first && second && strcmp(first, "https://a.issuer.test") == 0 &&
              strcmp(second, "https://b.issuer.test") == 0,
          "health issuers: %s", health);
    cJSON_Delete(h);
    jwtgate_string_free(health);
    jwtgate_validator_free(v);
}

/* A key server that is down: refresh_keys fails like ready() (503 family), is counted as a
 * manual refresh, and health() calls the failure an outage, not a misconfiguration. */
static void test_refresh_keys_server_down(void) {
    /* Port 1 on loopback: nothing listens, the connection is refused at once. */
    const char *cfg =
        "{\"issuer\":\"https://issuer.test\",\"audience\":\"https://api.test\","
        "\"jwks_uri\":\"http://127.0.0.1:1/jwks\",\"fetch_timeout\":2,\"fetch_retries\":0}";
    jwtgate_validator *v = new_validator(cfg);
    jwtgate_error *err = NULL;
    CHECK_RESULT(jwtgate_validator_refresh_keys(v, NULL, 0, &err), JWTGATE_JWKS_UNAVAILABLE);
    CHECK(err && jwtgate_error_http_status(err) == 503, "unavailable is 503");
    jwtgate_error_free(err);

    char *stats = NULL, *health = NULL;
    CHECK_RESULT(jwtgate_stats_json(v, &stats), JWTGATE_OK);
    cJSON *st = cJSON_Parse(stats);
    const cJSON *refreshes = cJSON_GetObjectItemCaseSensitive(st, "jwks_refreshes");
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(refreshes, "manual")) == 1,
          "one manual refresh: %s", stats);
    cJSON_Delete(st);
    jwtgate_string_free(stats);

    CHECK_RESULT(jwtgate_health_json(v, &health), JWTGATE_OK);
    cJSON *h = cJSON_Parse(health);
    const cJSON *jwks = cJSON_GetObjectItemCaseSensitive(h, "jwks");
    const char *problem = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(jwks, "problem"));
    CHECK(problem && strcmp(problem, "outage") == 0, "health: %s", health);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(jwks, "fetches_failed")) == 1,
          "health: %s", health);
    cJSON_Delete(h);
    jwtgate_string_free(health);
    jwtgate_validator_free(v);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s tests/vectors/valid.json tests/vectors/issuers.json\n", argv[0]);
        return 2;
    }
    cJSON *valid = load_json(argv[1]);
    cJSON *issuers = load_json(argv[2]);
    const cJSON *first = vector_case(valid, NULL);
    char *config = case_config(valid, first);

    test_refresh_keys_static(config);
    test_clear_cache(config, case_token(first));
    test_two_issuers(issuers);
    test_refresh_keys_server_down();

    cJSON_free(config);
    cJSON_Delete(valid);
    cJSON_Delete(issuers);
    return check_summary("c_keys");
}
