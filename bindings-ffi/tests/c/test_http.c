/* tests/vectors/http.json through the C face's HTTP helpers: each case's Authorization
 * value (null: no header), realm and required scopes must give the case's answer (status,
 * WWW-Authenticate challenge or none, JSON body) or, for status 200, the case's sub.
 *
 * Every case runs two ways that must agree with the vector: step by step
 * (jwtgate_http_bearer_token, jwtgate_validate on the token found in place,
 * jwtgate_claims_require_scopes, jwtgate_http_answer) and in one call
 * (jwtgate_validate_authorization, then jwtgate_http_answer). Then the edges of the helpers
 * themselves: the error table, errors made by the caller, misuse.
 * Meant to run under valgrind: every path must be free of leaks and invalid accesses.
 *
 * Usage: test_http path/to/tests/vectors/http.json */
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

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    if (text && fread(text, 1, (size_t)n, f) != (size_t)n) { free(text); text = NULL; }
    if (text) text[n] = 0;
    fclose(f);
    return text;
}

/* What a request got: 200 and a sub, or an answer. */
typedef struct {
    unsigned status;
    char *sub;
    char *challenge; /* NULL: no WWW-Authenticate */
    char *body;
} outcome;

static void outcome_free(outcome *o) {
    free(o->sub);
    jwtgate_string_free(o->challenge);
    jwtgate_string_free(o->body);
}

static char *sub_of(const jwtgate_claims *claims) {
    const uint8_t *json = NULL;
    size_t len = 0;
    if (jwtgate_claims_json(claims, &json, &len) != JWTGATE_OK) return NULL;
    cJSON *doc = cJSON_ParseWithLength((const char *)json, len);
    const char *sub = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "sub"));
    char *copy = sub ? strdup(sub) : NULL;
    cJSON_Delete(doc);
    return copy;
}

/* The answer to err (consumed); status 0 when the answer itself failed. */
static outcome answer(jwtgate_error *err, const char *realm, const char *scopes) {
    outcome o = {0};
    uint16_t status = 0;
    jwtgate_result r = jwtgate_http_answer(err, BYTES(realm), strlen(realm), BYTES(scopes),
                                           strlen(scopes), &status, &o.challenge, &o.body, NULL);
    CHECK_RESULT(r, JWTGATE_OK);
    o.status = status;
    jwtgate_error_free(err);
    return o;
}

static outcome step_by_step(const jwtgate_validator *v, const char *header, const char *realm,
                            const char *scopes) {
    outcome o = {0};
    jwtgate_error *err = NULL;
    size_t offset = 0, len = 0;
    /* No header: NULL with length 0. */
    jwtgate_result r = jwtgate_http_bearer_token(BYTES(header), header ? strlen(header) : 0,
                                                 &offset, &len, &err);
    if (r != JWTGATE_OK) return answer(err, realm, scopes);
    jwtgate_claims *claims = NULL;
    /* The token is used in place, within the header's bytes. */
    r = jwtgate_validate(v, BYTES(header) + offset, len, &claims, &err);
    if (r != JWTGATE_OK) return answer(err, realm, scopes);
    r = jwtgate_claims_require_scopes(claims, BYTES(scopes), strlen(scopes), &err);
    if (r != JWTGATE_OK) {
        jwtgate_claims_free(claims);
        return answer(err, realm, scopes);
    }
    o.status = 200;
    o.sub = sub_of(claims);
    jwtgate_claims_free(claims);
    return o;
}

static outcome in_one_call(const jwtgate_validator *v, const char *header, const char *realm,
                           const char *scopes) {
    outcome o = {0};
    jwtgate_error *err = NULL;
    jwtgate_claims *claims = NULL;
    jwtgate_result r = jwtgate_validate_authorization(
        v, BYTES(header), header ? strlen(header) : 0, BYTES(scopes), strlen(scopes), &claims, &err);
    if (r != JWTGATE_OK) {
        CHECK(claims == NULL, "out written on failure");
        /* The error's code is the result. */
        CHECK(jwtgate_error_code(err) == r, "code %u, result %u", jwtgate_error_code(err), r);
        return answer(err, realm, scopes);
    }
    CHECK(err == NULL, "err written on success");
    o.status = 200;
    o.sub = sub_of(claims);
    jwtgate_claims_free(claims);
    return o;
}

/* "" when o is what the case expects, else the first difference. */
static void compare(const outcome *o, const cJSON *expect, char *problem, size_t cap) {
    unsigned want_status = (unsigned)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(expect, "status"));
    problem[0] = 0;
    if (o->status != want_status) {
        snprintf(problem, cap, "status %u, want %u (body %s)", o->status, want_status,
                 o->body ? o->body : "-");
        return;
    }
    if (want_status == 200) {
        const char *want_sub = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(expect, "sub"));
        if (!o->sub || !want_sub || strcmp(o->sub, want_sub) != 0)
            snprintf(problem, cap, "sub %s, want %s", o->sub ? o->sub : "-", want_sub ? want_sub : "-");
        return;
    }
    const char *want_challenge = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(expect, "challenge"));
    if ((want_challenge == NULL) != (o->challenge == NULL) ||
        (want_challenge && strcmp(want_challenge, o->challenge) != 0)) {
        snprintf(problem, cap, "challenge %s, want %s", o->challenge ? o->challenge : "none",
                 want_challenge ? want_challenge : "none");
        return;
    }
    cJSON *body = o->body ? cJSON_Parse(o->body) : NULL;
    if (!body || !cJSON_Compare(body, cJSON_GetObjectItemCaseSensitive(expect, "body"), 1))
        snprintf(problem, cap, "body %s", o->body ? o->body : "-");
    cJSON_Delete(body);
}

static void run_vectors(const char *path) {
    char *text = read_file(path);
    cJSON *doc = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!doc) {
        fprintf(stderr, "FAIL %s: cannot read or parse\n", path);
        checks_failed++;
        return;
    }
    const cJSON *configs = cJSON_GetObjectItemCaseSensitive(doc, "configs");
    const cJSON *c;
    int cases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases")) {
        cases++;
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "name"));
        const char *config_name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "config"));
        const char *header = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "authorization"));
        const char *realm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "realm"));
        const cJSON *expect = cJSON_GetObjectItemCaseSensitive(c, "expect");
        char scopes[512] = "";
        const cJSON *s;
        cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(c, "scopes")) {
            if (scopes[0]) strncat(scopes, " ", sizeof scopes - strlen(scopes) - 1);
            strncat(scopes, cJSON_GetStringValue(s), sizeof scopes - strlen(scopes) - 1);
        }
        if (!realm) realm = "";

        char *config = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(configs, config_name));
        jwtgate_validator *v = NULL;
        jwtgate_result r = jwtgate_validator_new(BYTES(config), strlen(config), &v, NULL);
        cJSON_free(config);
        CHECK_RESULT(r, JWTGATE_OK);
        if (r != JWTGATE_OK) continue;

        char problem[1024];
        outcome a = step_by_step(v, header, realm, scopes);
        compare(&a, expect, problem, sizeof problem);
        CHECK(!problem[0], "%s: step by step: %s", name, problem);
        outcome b = in_one_call(v, header, realm, scopes);
        compare(&b, expect, problem, sizeof problem);
        CHECK(!problem[0], "%s: in one call: %s", name, problem);
        outcome_free(&a);
        outcome_free(&b);
        jwtgate_validator_free(v);
    }
    CHECK(cases >= 10, "%s: only %d cases", path, cases);
    cJSON_Delete(doc);
}

/* The core's table, as published: every kind is a result, invalid_request (1005) is 400. */
static void error_table(void) {
    char *json = NULL;
    CHECK_RESULT(jwtgate_error_kinds_json(&json), JWTGATE_OK);
    cJSON *table = cJSON_Parse(json);
    jwtgate_string_free(json);
    int kinds = 0, found = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, table) {
        kinds++;
        const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "kind"));
        unsigned code = (unsigned)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(row, "code"));
        CHECK(kind && strcmp(jwtgate_result_name(code), kind) == 0, "%u: result name %s, kind %s",
              code, jwtgate_result_name(code), kind ? kind : "-");
        if (kind && strcmp(kind, "invalid_request") == 0) {
            found = 1;
            CHECK(code == JWTGATE_INVALID_REQUEST, "invalid_request is %u", code);
            CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(row, "status")) == 400, "status");
            CHECK(strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "class")), "malformed") == 0,
                  "class");
        }
    }
    CHECK(kinds >= 26 && found, "%d kinds, invalid_request %s", kinds, found ? "listed" : "missing");
    cJSON_Delete(table);
}

/* A server's own refusal (its deadline for a key fetch passed) answered by the library. */
static void errors_made_by_the_caller(void) {
    jwtgate_error *err = UNTOUCHED;
    CHECK_RESULT(jwtgate_error_new(JWTGATE_OK, BYTES(""), 0, &err), JWTGATE_INVALID_ARGUMENT);
    CHECK_RESULT(jwtgate_error_new(JWTGATE_NULL_PARAMETER, NULL, 0, &err), JWTGATE_INVALID_ARGUMENT);
    CHECK_RESULT(jwtgate_error_new(1999, NULL, 0, &err), JWTGATE_INVALID_ARGUMENT);
    CHECK_RESULT(jwtgate_error_new(JWTGATE_EXPIRED, BYTES("\xff"), 1, &err), JWTGATE_INVALID_ARGUMENT);
    CHECK_RESULT(jwtgate_error_new(JWTGATE_EXPIRED, NULL, 0, NULL), JWTGATE_NULL_PARAMETER);
    CHECK(err == UNTOUCHED, "out written on failure");

    const char *detail = "deadline of 2 s passed fetching http://10.0.0.1/jwks";
    CHECK_RESULT(jwtgate_error_new(JWTGATE_KEYS_NOT_LOADED, BYTES(detail), strlen(detail), &err), JWTGATE_OK);
    CHECK(strcmp(jwtgate_error_kind(err), "keys_not_loaded") == 0 && jwtgate_error_http_status(err) == 503 &&
              strcmp(jwtgate_error_message(err), detail) == 0,
          "made error: %s %u %s", jwtgate_error_kind(err), jwtgate_error_http_status(err),
          jwtgate_error_message(err));
    outcome o = answer(err, "api", "");
    /* 503: no challenge, and nothing of the operator's detail reaches the client. */
    CHECK(o.status == 503 && o.challenge == NULL && o.body && !strstr(o.body, "10.0.0.1") &&
              strstr(o.body, "\"temporarily_unavailable\""),
          "answer %u %s %s", o.status, o.challenge ? o.challenge : "none", o.body ? o.body : "-");
    outcome_free(&o);
}

static void misuse(void) {
    size_t offset = 7, len = 7;
    jwtgate_error *err = NULL;
    /* NULL with a length is not "no header". */
    CHECK_RESULT(jwtgate_http_bearer_token(NULL, 5, &offset, &len, &err), JWTGATE_NULL_PARAMETER);
    jwtgate_error_free(err);
    CHECK_RESULT(jwtgate_http_bearer_token(BYTES("Bearer abc"), 10, NULL, &len, NULL), JWTGATE_NULL_PARAMETER);
    CHECK_RESULT(jwtgate_http_bearer_token(BYTES("Bearer abc"), SIZE_MAX, &offset, &len, NULL),
                 JWTGATE_INVALID_ARGUMENT);
    /* A header is the client's: bytes that are not UTF-8 are its fault (400), never a 500. */
    CHECK_RESULT(jwtgate_http_bearer_token(BYTES("Bearer ab\xff"), 10, &offset, &len, NULL),
                 JWTGATE_INVALID_REQUEST);
    CHECK(offset == 7 && len == 7, "outs written on failure");
    CHECK_RESULT(jwtgate_http_bearer_token(BYTES("Bearer x.y "), 11, &offset, &len, NULL), JWTGATE_OK);
    CHECK(offset == 7 && len == 3, "token at %zu+%zu", offset, len);

    jwtgate_claims *claims = UNTOUCHED;
    CHECK_RESULT(jwtgate_validate_authorization(NULL, NULL, 0, NULL, 0, &claims, NULL), JWTGATE_NULL_PARAMETER);
    CHECK(claims == UNTOUCHED, "out written on failure");

    uint16_t status = 7;
    char *challenge = UNTOUCHED, *body = UNTOUCHED;
    CHECK_RESULT(jwtgate_http_answer(NULL, NULL, 0, NULL, 0, &status, &challenge, &body, &err),
                 JWTGATE_NULL_PARAMETER);
    CHECK(strcmp(jwtgate_error_kind(err), "null_parameter") == 0, "kind %s", jwtgate_error_kind(err));
    jwtgate_error *made = NULL;
    CHECK_RESULT(jwtgate_error_new(JWTGATE_EXPIRED, NULL, 0, &made), JWTGATE_OK);
    CHECK_RESULT(jwtgate_http_answer(made, BYTES("\xff"), 1, NULL, 0, &status, &challenge, &body, NULL),
                 JWTGATE_INVALID_ARGUMENT);
    CHECK_RESULT(jwtgate_http_answer(made, NULL, 0, NULL, 0, &status, NULL, &body, NULL), JWTGATE_NULL_PARAMETER);
    CHECK(status == 7 && challenge == UNTOUCHED && body == UNTOUCHED, "outs written on failure");
    /* The answer to an error of the C face itself: 500, its message kept for the log. */
    CHECK_RESULT(jwtgate_http_answer(err, NULL, 0, NULL, 0, &status, &challenge, &body, NULL), JWTGATE_OK);
    CHECK(status == 500 && challenge == NULL && strstr(body, "\"internal\"") && !strstr(body, "NULL"),
          "answer %u %s", status, body);
    jwtgate_string_free(body);
    jwtgate_error_free(err);
    jwtgate_error_free(made);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s path/to/tests/vectors/http.json\n", argv[0]);
        return 2;
    }
    run_vectors(argv[1]);
    error_table();
    errors_made_by_the_caller();
    misuse();
    return check_summary("c_http");
}
