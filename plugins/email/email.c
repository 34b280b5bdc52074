/*
 * email sink - one e-mail per alert (or document, or digest) over SMTP or
 * SMTPS, through the shared client's mail service (host->mail_send).
 *
 * The message is multipart/alternative (text and HTML, UTF-8,
 * quoted-printable), its Message-ID derived from the delivery id so a retry
 * after a crash is the same message to the receiving side, and an update
 * replies to its first alert (In-Reply-To) so mail clients thread a story.
 * The login comes from environment variables named by the options: a
 * pipeline file never holds a password.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "chan_payload.h"
#include "chan_send.h"
#include "email_format.h"
#include "email_mime.h"
#include "vigil/plugin.h"

#define EMAIL_MAX_RCPT 100
#define EMAIL_MESSAGE_MAX (8u * 1024 * 1024)

struct email_conf {
    char *url;
    char *from;
    struct vigil_strlist to;
    int tls;
    char *username_env;
    char *password_env;
    char *subject_prefix;
    int64_t timeout_ms;
};

/* Same order as enum vigil_mail_tls. */
static const char *const tls_choices[] = {"try", "required", "none", NULL};

static const struct vigil_option email_options[] = {
    {"url", VIGIL_OPT_STR, NULL, VIGIL_OPT_REQUIRED, offsetof(struct email_conf, url),
     VIGIL_NOBOUNDS, NULL, "smtp://host[:port] (STARTTLS) or smtps://host[:port] (TLS)"},
    {"from", VIGIL_OPT_STR, NULL, VIGIL_OPT_REQUIRED, offsetof(struct email_conf, from),
     VIGIL_NOBOUNDS, NULL, "sender: \"Name <addr@example.org>\" or \"addr@example.org\""},
    {"to", VIGIL_OPT_STRLIST, NULL, VIGIL_OPT_REQUIRED, offsetof(struct email_conf, to), 1,
     EMAIL_MAX_RCPT, NULL, "recipients, each \"Name <addr>\" or \"addr\""},
    {"tls", VIGIL_OPT_ENUM, "required", 0, offsetof(struct email_conf, tls), VIGIL_NOBOUNDS,
     tls_choices,
     "STARTTLS for smtp://: required (refuse a plain session), try (when offered), none"},
    {"username_env", VIGIL_OPT_STR, NULL, 0, offsetof(struct email_conf, username_env),
     VIGIL_NOBOUNDS, NULL, "name of the environment variable holding the SMTP login"},
    {"password_env", VIGIL_OPT_STR, NULL, 0, offsetof(struct email_conf, password_env),
     VIGIL_NOBOUNDS, NULL, "name of the environment variable holding the SMTP password"},
    {"subject_prefix", VIGIL_OPT_STR, "[vigil] ", 0, offsetof(struct email_conf, subject_prefix),
     VIGIL_NOBOUNDS, NULL, "text put in front of every subject"},
    {"timeout", VIGIL_OPT_DURATION, "30s", 0, offsetof(struct email_conf, timeout_ms), 1, 600000,
     NULL, "time limit of one SMTP session"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

struct email {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct email_conf *conf;
    struct chan_sender sender;
    char *from_header; /* formatted From */
    char from_addr[MIME_ADDR_MAX];
    const char *domain; /* into from_addr */
    char **to_header;   /* formatted To entries */
    char **to_addr;     /* envelope recipients, NULL-terminated */
    size_t nto;
    char *username, *password;
};

static void email_free(struct email *e)
{
    free(e->from_header);
    for (size_t i = 0; i < e->nto; i++) {
        free(e->to_header[i]);
        free(e->to_addr[i]);
    }
    free(e->to_header);
    free(e->to_addr);
    free(e->username);
    if (e->password) {
        explicit_bzero(e->password, strlen(e->password));
        free(e->password);
    }
    free(e);
}

/* Parse one configured address into its header form and envelope form. */
static int address(const char *opt, size_t idx, const char *spec, char **header, char *addr,
                   size_t addrcap, struct vigil_error *err)
{
    char name[MIME_NAME_MAX];
    if (mime_parse_address(spec, name, sizeof name, addr, addrcap) != 0) {
        if (idx == (size_t)-1)
            return vigil_error_set(err, VIGIL_EINVAL,
                                   "option '%s': \"%.100s\" is not \"Name <local@domain>\" or "
                                   "\"local@domain\" (ASCII, no blanks)",
                                   opt, spec);
        return vigil_error_set(err, VIGIL_EINVAL,
                               "option '%s': item %zu, \"%.100s\", is not \"Name "
                               "<local@domain>\" or \"local@domain\" (ASCII, no blanks)",
                               opt, idx, spec);
    }
    struct buf b;
    buf_init(&b, 4096);
    if (mime_format_address(&b, name, addr) != 0 || !(*header = buf_steal(&b))) {
        buf_free(&b);
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    }
    return VIGIL_OK;
}

/* A login from the environment: the option names the variable. */
static int from_env(const char *opt, const char *var, char **out, struct vigil_error *err)
{
    if (!var)
        return VIGIL_OK;
    const char *v = getenv(var);
    if (!v || !*v)
        return vigil_error_set(err, VIGIL_EINVAL,
                               "option '%s': environment variable %s is not set or empty", opt,
                               var);
    *out = strdup(v);
    return *out ? VIGIL_OK : vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
}

static int email_create(const struct vigil_host *host, struct vigil_instance *ins, const void *conf,
                        void **state, struct vigil_error *err)
{
    const struct email_conf *c = conf;
    int smtps = strncasecmp(c->url, "smtps://", 8) == 0;
    if (!smtps && strncasecmp(c->url, "smtp://", 7) != 0)
        return vigil_error_set(err, VIGIL_EINVAL,
                               "option 'url': expected smtp://host[:port] or smtps://host[:port]");
    const char *hostpart = c->url + (smtps ? 8 : 7);
    if (memchr(hostpart, '@', strcspn(hostpart, "/?#")))
        return vigil_error_set(err, VIGIL_EINVAL,
                               "option 'url': no credentials in the URL; use username_env and "
                               "password_env");
    if (!c->username_env != !c->password_env)
        return vigil_error_set(err, VIGIL_EINVAL,
                               "options 'username_env' and 'password_env' go together");
    if (c->subject_prefix && strpbrk(c->subject_prefix, "\r\n"))
        return vigil_error_set(err, VIGIL_EINVAL, "option 'subject_prefix': CR or LF");

    struct email *e = calloc(1, sizeof *e);
    if (!e)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    e->host = host;
    e->ins = ins;
    e->conf = c;
    int rc = address("from", (size_t)-1, c->from, &e->from_header, e->from_addr,
                     sizeof e->from_addr, err);
    if (rc == VIGIL_OK) {
        e->to_header = calloc(c->to.n + 1, sizeof *e->to_header);
        e->to_addr = calloc(c->to.n + 1, sizeof *e->to_addr);
        if (!e->to_header || !e->to_addr)
            rc = vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; rc == VIGIL_OK && i < c->to.n; i++) {
        char addr[MIME_ADDR_MAX];
        rc = address("to", i, c->to.v[i], &e->to_header[i], addr, sizeof addr, err);
        if (rc == VIGIL_OK) {
            e->to_addr[i] = strdup(addr);
            if (!e->to_addr[i]) {
                free(e->to_header[i]);
                rc = vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
            }
        }
        if (rc == VIGIL_OK)
            e->nto++;
    }
    if (rc == VIGIL_OK)
        rc = from_env("username_env", c->username_env, &e->username, err);
    if (rc == VIGIL_OK)
        rc = from_env("password_env", c->password_env, &e->password, err);
    if (rc != VIGIL_OK) {
        email_free(e);
        return rc;
    }
    e->domain = strchr(e->from_addr, '@') + 1;
    chan_sender_init(&e->sender, host, ins, "email", c->url, 1);
    if (e->username && !smtps && c->tls == VIGIL_MAIL_TLS_NONE)
        host->log(ins, VIGIL_LOG_WARN,
                  "email: the login to %s goes in clear text (tls: none on smtp://)",
                  e->sender.dest);
    host->log(ins, VIGIL_LOG_INFO, "email: to %zu recipient%s via %s (tls %s%s)", e->nto,
              e->nto == 1 ? "" : "s", e->sender.dest, smtps ? "implicit" : tls_choices[c->tls],
              e->username ? ", with login" : "");
    *state = e;
    return VIGIL_OK;
}

static int email_deliver(void *state, const struct vigil_delivery *d, vigil_deliver_cb done,
                         void *arg)
{
    struct email *e = state;
    struct email_content content;
    if (email_render(d->payload, d->kind, e->conf->subject_prefix, &content) != 0)
        return VIGIL_ENOMEM;
    const char *id = d->id ? d->id : "";
    char msgid[512], reply_to[512], alert_id[256];
    mime_message_id(id, e->domain, msgid, sizeof msgid);
    if (content.thread_id)
        mime_message_id(content.thread_id, e->domain, reply_to, sizeof reply_to);
    chan_oneline(id, 200, alert_id, sizeof alert_id);
    const char *extra[] = {
        "X-Vigil-Alert-Id", alert_id, "X-Vigil-Kind", d->kind ? d->kind : "document", NULL, NULL};
    struct mime_message m = {
        .from = e->from_header,
        .to = (const char *const *)e->to_header,
        .nto = e->nto,
        .subject = content.subject,
        .date_ms = e->host->now_ms(),
        .message_id = msgid,
        .in_reply_to = content.thread_id ? reply_to : NULL,
        .extra = extra,
        .text = content.text,
        .html = content.html,
    };
    struct buf msg;
    buf_init(&msg, EMAIL_MESSAGE_MAX);
    int built = mime_build(&m, &msg);
    email_content_free(&content);
    if (built != 0) {
        buf_free(&msg);
        struct chan_outcome bad = {
            .status = VIGIL_FAILED, .retry_after_ms = -1, .label = CHAN_L_REFUSED};
        snprintf(bad.reason, sizeof bad.reason, "message larger than %u bytes or out of memory",
                 EMAIL_MESSAGE_MAX);
        chan_sender_finish(&e->sender, d->id, d->kind, &bad, done, arg);
        return VIGIL_OK;
    }
    struct vigil_mail_request req = {
        .struct_size = sizeof req,
        .url = e->conf->url,
        .from = e->from_addr,
        .to = (const char *const *)e->to_addr,
        .username = e->username,
        .password = e->password,
        .tls = e->conf->tls,
        .message = msg.data,
        .message_len = msg.len,
        .timeout_ms = e->conf->timeout_ms,
    };
    int rc = chan_send_mail(&e->sender, &req, d, done, arg);
    buf_free(&msg); /* the client copied it */
    return rc;
}

static void email_stop(void *state)
{
    struct email *e = state;
    chan_sender_stop(&e->sender);
}

static void email_destroy(void *state)
{
    email_free(state);
}

static const struct vigil_plugin email_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "email",
    .version = "1.0.0",
    .description = "send alerts or documents as e-mail (SMTP/SMTPS, text and HTML)",
    .license = "Apache-2.0",
    .kind = VIGIL_SINK,
    .options = email_options,
    .conf_size = sizeof(struct email_conf),
    .create = email_create,
    .stop = email_stop,
    .destroy = email_destroy,
    .deliver = email_deliver,
};

VIGIL_PLUGIN_EXPORT(email_plugin)
