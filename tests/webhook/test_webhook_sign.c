/* webhook_sign: HMAC-SHA256 as "sha256=<hex>", checked against RFC 4231. */
#include "test.h"
#include "webhook_sign.h"

static void test_rfc4231_case2(void)
{
    char sig[WEBHOOK_SIG_LEN];
    const char *data = "what do ya want for nothing?";
    REQUIRE(webhook_sign("Jefe", 4, data, strlen(data), sig) == 0);
    CHECK_STR(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_rfc4231_case1(void)
{
    char key[20];
    memset(key, 0x0b, sizeof key);
    char sig[WEBHOOK_SIG_LEN];
    REQUIRE(webhook_sign(key, sizeof key, "Hi There", 8, sig) == 0);
    CHECK_STR(sig, "sha256=b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

static void test_empty_body_and_key_changes(void)
{
    char a[WEBHOOK_SIG_LEN], b[WEBHOOK_SIG_LEN];
    REQUIRE(webhook_sign("k", 1, NULL, 0, a) == 0);
    CHECK_INT(strlen(a), ==, 71);
    REQUIRE(webhook_sign("k2", 2, NULL, 0, b) == 0);
    CHECK(strcmp(a, b) != 0);
    /* one changed byte of body changes the signature */
    REQUIRE(webhook_sign("k", 1, "{\"a\":1}", 7, a) == 0);
    REQUIRE(webhook_sign("k", 1, "{\"a\":2}", 7, b) == 0);
    CHECK(strcmp(a, b) != 0);
}

int main(void)
{
    RUN(test_rfc4231_case1);
    RUN(test_rfc4231_case2);
    RUN(test_empty_body_and_key_changes);
    return test_summary();
}
