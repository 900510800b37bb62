/* Tests src/core/err.c: the one error table. */
#include "../unit.h"

#include "core/err.h"

static void test_names_distinct_and_nonempty(void **state)
{
    for (int i = 0; i < AEG__COUNT; i++) {
        const char *n = aeg_code_name(i);
        assert_non_null(n);
        assert_true(strlen(n) > 0);
        assert_non_null(aeg_code_type(i));
        assert_true(strlen(aeg_code_type(i)) > 0);
        assert_non_null(aeg_code_message(i));
        assert_true(strlen(aeg_code_message(i)) > 0);
        /* wire names are snake_case */
        for (const char *p = n; *p; p++)
            assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
        for (int j = 0; j < i; j++) {
            if (!strcmp(n, aeg_code_name(j)))
                fail_msg("codes %d and %d share the name %s", j, i, n);
        }
    }
}

static void test_statuses(void **state)
{
    struct {
        int code;
        const char *name;
        const char *type;
        int status;
    } want[] = {
        {AEG_OK, "ok", "ok", 200},
        {AEG_EINVAL, "invalid_request", "invalid_request_error", 400},
        {AEG_EJSON, "malformed_json", "invalid_request_error", 400},
        {AEG_EUNAUTH, "unauthenticated", "authentication_error", 401},
        {AEG_EFORBIDDEN, "forbidden", "permission_error", 403},
        {AEG_ENOTFOUND, "not_found", "not_found_error", 404},
        {AEG_ENOROUTE, "route_not_found", "not_found_error", 404},
        {AEG_EMETHOD, "method_not_allowed", "invalid_request_error", 405},
        {AEG_ETIMEOUT, "request_timeout", "invalid_request_error", 408},
        {AEG_ECONFLICT, "conflict", "invalid_request_error", 409},
        {AEG_ELEASE, "lease_lost", "conflict_error", 409},
        {AEG_ELIMIT, "limit_exceeded", "invalid_request_error", 422},
        {AEG_ETOOLARGE, "body_too_large", "invalid_request_error", 413},
        {AEG_EMEDIA, "unsupported_media_type", "invalid_request_error", 415},
        {AEG_ERATE, "rate_limited", "rate_limit_error", 429},
        {AEG_EINTERNAL, "internal_error", "api_error", 500},
        {AEG_EDB, "database_error", "api_error", 500},
        {AEG_EIO, "io_error", "api_error", 500},
        {AEG_ECONFIG, "invalid_config", "config_error", 500},
        {AEG_EUNAVAIL, "unavailable", "api_error", 503},
    };
    assert_int_equal(sizeof want / sizeof want[0], AEG__COUNT);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_string_equal(aeg_code_name(want[i].code), want[i].name);
        assert_string_equal(aeg_code_type(want[i].code), want[i].type);
        assert_int_equal(aeg_code_status(want[i].code), want[i].status);
    }
    assert_int_equal(AEG_OK, 0);
}

static void test_out_of_range_is_internal(void **state)
{
    int bad[] = {-1, -1000, AEG__COUNT, AEG__COUNT + 1, 100, 101, 1 << 30};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_string_equal(aeg_code_name(bad[i]), "internal_error");
        assert_string_equal(aeg_code_type(bad[i]), "api_error");
        assert_int_equal(aeg_code_status(bad[i]), 500);
        assert_string_equal(aeg_code_message(bad[i]), aeg_code_message(AEG_EINTERNAL));
    }
}

static void test_codes_below_step_values(void **state)
{
    /* db_step returns DB_ROW (100) / DB_DONE (101) or an AEG_ code: they must never collide. */
    assert_true(AEG__COUNT < 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_distinct_and_nonempty),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_out_of_range_is_internal),
        cmocka_unit_test(test_codes_below_step_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
