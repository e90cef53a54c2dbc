/*
 * ews_ops — the operations of /EWS/Exchange.asmx and the mailbox they see: a new mailbox of an
 * English-speaking user, its well-known folders with ids that stay the same from run to run,
 * and nothing in them; the directory is the scenario's accounts with mailboxes.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ews_int.h"
#include "log.h"

/* Element names of the folder classes in the types namespace. */
enum ftype { FT_FOLDER, FT_CALENDAR, FT_CONTACTS, FT_TASKS };
static const char *const ftype_elements[] = {"t:Folder", "t:CalendarFolder", "t:ContactsFolder",
                                             "t:TasksFolder"};

#define NOPARENT (-1)
#define ROOT 0
#define TOIS 1
#define SYNC 12
#define RECOVERABLE 18
/*
 * A new mailbox of an English-speaking user, in the order FindFolder lists it: each row is a
 * DistinguishedFolderId of the schema of servers from SINCE on. Rows with EXISTS 0 are ids the
 * schema has but this mailbox has no folder for (no archive, no public folders, no Lync): they
 * answer ErrorFolderNotFound, as a real mailbox without them does. The parent is a row index.
 */
static const struct folder {
    const char *id, *name, *cls;
    enum ftype type;
    int parent;
    enum scn_version since;
    int exists;
} folders[] = {
    {"root", "", NULL, FT_FOLDER, NOPARENT, SCN_V2010, 1},
    {"msgfolderroot", "Top of Information Store", NULL, FT_FOLDER, ROOT, SCN_V2010, 1},
    {"calendar", "Calendar", "IPF.Appointment", FT_CALENDAR, TOIS, SCN_V2010, 1},
    {"contacts", "Contacts", "IPF.Contact", FT_CONTACTS, TOIS, SCN_V2010, 1},
    {"deleteditems", "Deleted Items", "IPF.Note", FT_FOLDER, TOIS, SCN_V2010, 1},
    {"drafts", "Drafts", "IPF.Note", FT_FOLDER, TOIS, SCN_V2010, 1},
    {"inbox", "Inbox", "IPF.Note", FT_FOLDER, TOIS, SCN_V2010, 1},
    {"journal", "Journal", "IPF.Journal", FT_FOLDER, TOIS, SCN_V2010, 1},
    {"junkemail", "Junk Email", "IPF.Note", FT_FOLDER, TOIS, SCN_V2010, 1},
    {"notes", "Notes", "IPF.StickyNote", FT_FOLDER, TOIS, SCN_V2010, 1},
    {"outbox", "Outbox", "IPF.Note", FT_FOLDER, TOIS, SCN_V2010, 1},
    {"sentitems", "Sent Items", "IPF.Note", FT_FOLDER, TOIS, SCN_V2010, 1},
    {"syncissues", "Sync Issues", "IPF.Note", FT_FOLDER, TOIS, SCN_V2013, 1},
    {"conflicts", "Conflicts", "IPF.Note", FT_FOLDER, SYNC, SCN_V2013, 1},
    {"localfailures", "Local Failures", "IPF.Note", FT_FOLDER, SYNC, SCN_V2013, 1},
    {"serverfailures", "Server Failures", "IPF.Note", FT_FOLDER, SYNC, SCN_V2013, 1},
    {"tasks", "Tasks", "IPF.Task", FT_TASKS, TOIS, SCN_V2010, 1},
    {"searchfolders", "Finder", NULL, FT_FOLDER, ROOT, SCN_V2010, 1},
    {"recoverableitemsroot", "Recoverable Items", NULL, FT_FOLDER, ROOT, SCN_V2010, 1},
    {"recoverableitemsdeletions", "Deletions", NULL, FT_FOLDER, RECOVERABLE, SCN_V2010, 1},
    {"recoverableitemspurges", "Purges", NULL, FT_FOLDER, RECOVERABLE, SCN_V2010, 1},
    {"recoverableitemsversions", "Versions", NULL, FT_FOLDER, RECOVERABLE, SCN_V2010, 1},
    {"publicfoldersroot", NULL, NULL, FT_FOLDER, NOPARENT, SCN_V2010, 0},
    {"voicemail", NULL, NULL, FT_FOLDER, NOPARENT, SCN_V2010, 0},
    {"archiveroot", NULL, NULL, FT_FOLDER, NOPARENT, SCN_V2010, 0},
    {"archivemsgfolderroot", NULL, NULL, FT_FOLDER, NOPARENT, SCN_V2010, 0},
    {"archivedeleteditems", NULL, NULL, FT_FOLDER, NOPARENT, SCN_V2010, 0},
    {"archiverecoverableitemsroot", NULL, NULL, FT_FOLDER, NOPARENT, SCN_V2010, 0},
    {"archiverecoverableitemsdeletions", NULL, NULL, FT_FOLDER, NOPARENT, SCN_V2010, 0},
    {"archiverecoverableitemsversions", NULL, NULL, FT_FOLDER, NOPARENT, SCN_V2010, 0},
    {"archiverecoverableitemspurges", NULL, NULL, FT_FOLDER, NOPARENT, SCN_V2010, 0},
    {"archiveinbox", NULL, NULL, FT_FOLDER, NOPARENT, SCN_V2013, 0},
    {"recipientcache", NULL, NULL, FT_FOLDER, NOPARENT, SCN_V2013, 0},
    {"quickcontacts", NULL, NULL, FT_FOLDER, NOPARENT, SCN_V2013, 0},
    {"conversationhistory", NULL, NULL, FT_FOLDER, NOPARENT, SCN_V2013, 0},
    {"adminauditlogs", NULL, NULL, FT_FOLDER, NOPARENT, SCN_V2013, 0},
    {"todosearch", NULL, NULL, FT_FOLDER, NOPARENT, SCN_V2013, 0},
    {"mycontacts", NULL, NULL, FT_FOLDER, NOPARENT, SCN_V2013, 0},
    {"directory", NULL, NULL, FT_FOLDER, NOPARENT, SCN_V2013, 0},
    {"imcontactlist", NULL, NULL, FT_FOLDER, NOPARENT, SCN_V2013, 0},
    {"peopleconnect", NULL, NULL, FT_FOLDER, NOPARENT, SCN_V2013, 0},
    {"favorites", NULL, NULL, FT_FOLDER, NOPARENT, SCN_V2013, 0},
};

/* Folder properties a shape asks for (schema order of BaseFolderType and FolderType). */
#define F_ID 0x01u
#define F_PARENT 0x02u
#define F_CLASS 0x04u
#define F_NAME 0x08u
#define F_TOTAL 0x10u
#define F_CHILDREN 0x20u
#define F_RIGHTS 0x40u
#define F_UNREAD 0x80u
static const struct {
    const char *name;
    unsigned fields;
} base_shapes[] = {
    {"IdOnly", F_ID},
    {"Default", F_ID | F_NAME | F_TOTAL | F_CHILDREN | F_UNREAD},
    {"AllProperties", 0xffu},
};
/* FieldURIs of folder properties; others (item:, message:, extended properties) are ignored. */
static const struct {
    const char *uri;
    unsigned field;
} field_uris[] = {
    {"folder:FolderId", F_ID},
    {"folder:ParentFolderId", F_PARENT},
    {"folder:FolderClass", F_CLASS},
    {"folder:DisplayName", F_NAME},
    {"folder:TotalCount", F_TOTAL},
    {"folder:ChildFolderCount", F_CHILDREN},
    {"folder:EffectiveRights", F_RIGHTS},
    {"folder:UnreadCount", F_UNREAD},
};

/* IdFormatType: what each format's ids are made of. */
enum idkind { ID_EWS, ID_ENTRY, ID_HEX };
static const struct {
    const char *name;
    enum idkind kind;
} id_formats[] = {
    /* EwsLegacyId (Exchange 2007's) and OwaId are written as EwsId: OWA 2013+ uses EWS ids;
     * StoreId as the bare entry id (real store ids wrap it; unconfirmed either way). */
    {"EwsLegacyId", ID_EWS}, {"EwsId", ID_EWS},     {"EntryId", ID_ENTRY},
    {"HexEntryId", ID_HEX},  {"StoreId", ID_ENTRY}, {"OwaId", ID_EWS},
};

/* --- mailboxes and ids ------------------------------------------------------------------- */

/* The mailbox ACCOUNT names, if the request's identity may open it: the identity's own, or any
 * for an admin (the model's Organization Management stands in for FullAccess; a reasonable
 * emulation). NULL with *CODE set otherwise. */
static const struct scn_account *open_mailbox(const struct ews_ctx *c, const struct scn_account *a,
                                              const char **code)
{
    if (a == NULL || a->mailbox == NULL) {
        *code = "ErrorNonExistentMailbox";
        return NULL;
    }
    if (a != c->mailbox && !c->mailbox->admin) {
        *code = "ErrorAccessDenied";
        return NULL;
    }
    return a;
}

/* 16 bytes that stay the same for the same KIND and TEXT (case-insensitive): ids of two runs of
 * a scenario agree, as a real mailbox's do. */
static void digest16(const char *kind, const char *text, unsigned char out[16])
{
    char s[600];
    int len = snprintf(s, sizeof(s), "mrsmock:%s:%s", kind, text);

    for (int i = 0; i < len && (size_t)i < sizeof(s); i++)
        s[i] = (char)h2o_tolower(s[i]);
    util_stable_bytes(s, SIZE_MAX, out, 16);
}

/*
 * A folder's MAPI entry id, 46 bytes: flags (4, zero), the store's provider UID (16, here the
 * mailbox's GUID), folder type (2, 01 00: private), database GUID (16), global counter (6,
 * here 1 + the folder's row), two zero bytes.
 */
#define EID_LEN 46
static void entry_id(const struct scn_account *a, size_t row, unsigned char e[EID_LEN])
{
    memset(e, 0, EID_LEN);
    digest16("mailbox", a->mailbox, e + 4);
    e[20] = 1;
    digest16("database", a->server->name, e + 22);
    e[43] = (unsigned char)(row + 1);
}

/*
 * An EWS id as Exchange 2010+ writes it ("AAMkA..."): 00 03, the length (36) of the mailbox GUID
 * as text, 00, that text, 00, the entry id's length as 16 bits, the entry id.
 */
#define EWSID_LEN (4 + 36 + 3 + EID_LEN)
static const unsigned char ewsid_head[4] = {0, 3, 36, 0}, ewsid_mid[3] = {0, EID_LEN, 0};

static void ews_id_bytes(const struct scn_account *a, size_t row, unsigned char b[EWSID_LEN])
{
    unsigned char g[16];
    char s[UTIL_GUID_LEN];

    digest16("mailbox", a->mailbox, g);
    util_guid_format(g, s); /* the bytes as they are: no version bits */
    memcpy(b, ewsid_head, 4);
    memcpy(b + 4, s, 36);
    memcpy(b + 40, ewsid_mid, 3);
    entry_id(a, row, b + 43);
}

static const char *base64(const struct ews_ctx *c, const unsigned char *p, size_t n)
{
    size_t len = UTIL_B64_LEN(n) + 1;
    char *s = h2o_mem_alloc_pool(c->rq->pool, len);

    if (util_b64_encode(p, n, s, len) < 0)
        fatalx("base64 of %zu bytes", n); /* ids are a few dozen bytes: cannot happen */
    return s;
}

/* Decodes the EID_LEN bytes of HexEntryId S into OUT. 0, or -1. */
static int unhex(const char *s, unsigned char out[EID_LEN])
{
    static const char digits[] = "0123456789abcdef";
    const char *hi, *lo;

    if (strlen(s) != 2 * EID_LEN)
        return -1;
    for (size_t i = 0; i < EID_LEN; i++) {
        if (s[2 * i] == '\0' || s[2 * i + 1] == '\0' ||
            (hi = strchr(digits, h2o_tolower(s[2 * i]))) == NULL ||
            (lo = strchr(digits, h2o_tolower(s[2 * i + 1]))) == NULL)
            return -1;
        out[i] = (unsigned char)((hi - digits) << 4 | (lo - digits));
    }
    return 0;
}

static const char *folder_id(const struct ews_ctx *c, const struct scn_account *a, size_t row)
{
    unsigned char b[EWSID_LEN];
    ews_id_bytes(a, row, b);
    return base64(c, b, sizeof(b));
}

/* A change key: 01 00 00 00, 16 00 00 00 (the length of what follows), database GUID, and a
 * change counter (always the first change: nothing ever changes in these folders). */
static const char *change_key(const struct ews_ctx *c, const struct scn_account *a)
{
    unsigned char b[30] = {1, 0, 0, 0, 0x16, 0, 0, 0};
    digest16("database", a->server->name, b + 8);
    b[29] = 1;
    return base64(c, b, sizeof(b));
}

static int visible(const struct ews_ctx *c, int row)
{
    return row >= 0 && (size_t)row < COUNTOF(folders) &&
           folders[row].since <= c->rq->server->version;
}

/* The row of the entry id E in mailbox A: NULL and *ROW, or the response code. */
static const char *decode_entry_id(const struct ews_ctx *c, const struct scn_account *a,
                                   const unsigned char *e, int *row)
{
    unsigned char want[EID_LEN];

    entry_id(a, 0, want);
    if (memcmp(e, want, 43) != 0 || e[44] != 0 || e[45] != 0)
        return "ErrorInvalidIdMalformed";
    *row = e[43] - 1;
    return visible(c, *row) && folders[*row].exists ? NULL : "ErrorFolderNotFound";
}

/* An EWS id: its mailbox into *A and folder into *ROW; NULL, or the response code. */
static const char *decode_ews_id(const struct ews_ctx *c, const char *id,
                                 const struct scn_account **a, int *row)
{
    unsigned char b[EWSID_LEN], mine[EWSID_LEN];

    if (util_b64_decode(id, strlen(id), b, sizeof(b)) != EWSID_LEN ||
        memcmp(b, ewsid_head, 4) != 0 || memcmp(b + 40, ewsid_mid, 3) != 0)
        return "ErrorInvalidIdMalformed";
    *a = NULL;
    for (size_t i = 0; i < c->rq->scn->num_accounts && *a == NULL; i++) {
        const struct scn_account *x = &c->rq->scn->accounts[i];
        if (x->mailbox == NULL)
            continue;
        ews_id_bytes(x, 0, mine);
        if (memcmp(mine + 4, b + 4, 36) == 0)
            *a = x;
    }
    if (*a == NULL)
        return "ErrorNonExistentMailbox";
    return decode_entry_id(c, *a, b + 43, row);
}

/* --- folders -------------------------------------------------------------------------------- */

static int is_below(int row, int ancestor)
{
    for (row = folders[row].parent; row != NOPARENT; row = folders[row].parent)
        if (row == ancestor)
            return 1;
    return 0;
}

static void write_folder(struct ews_ctx *c, const struct scn_account *a, int row, unsigned fields)
{
    const struct folder *f = &folders[row];
    xmlTextWriterPtr w = c->w;
    unsigned long children = 0;

    for (size_t i = 0; i < COUNTOF(folders); i++)
        children += visible(c, (int)i) && folders[i].exists && folders[i].parent == row;
    start(w, ftype_elements[f->type]);
    if (fields & F_ID) {
        start(w, "t:FolderId");
        attr(w, "Id", folder_id(c, a, (size_t)row));
        attr(w, "ChangeKey", change_key(c, a));
        end(w);
    }
    if ((fields & F_PARENT) && f->parent != NOPARENT) {
        start(w, "t:ParentFolderId");
        attr(w, "Id", folder_id(c, a, (size_t)f->parent));
        attr(w, "ChangeKey", change_key(c, a));
        end(w);
    }
    if ((fields & F_CLASS) && f->cls != NULL)
        elem(w, "t:FolderClass", f->cls);
    if (fields & F_NAME)
        elem(w, "t:DisplayName", f->name);
    if (fields & F_TOTAL)
        elem(w, "t:TotalCount", "0");
    if (fields & F_CHILDREN)
        elem_u(w, "t:ChildFolderCount", children);
    if (fields & F_RIGHTS) {
        /* the owner's rights on a folder of their own mailbox */
        static const char *const rights[] = {
            "t:CreateAssociated", "t:CreateContents", "t:CreateHierarchy", "t:Delete",
            "t:Modify",           "t:Read",           "t:ViewPrivateItems"};
        start(w, "t:EffectiveRights");
        for (size_t i = 0; i < COUNTOF(rights); i++)
            elem(w, rights[i], "true");
        end(w);
    }
    /* calendar and contacts folders have no unread count in the schema */
    if ((fields & F_UNREAD) && (f->type == FT_FOLDER || f->type == FT_TASKS))
        elem(w, "t:UnreadCount", "0");
    end(w);
}

/* m:FolderShape of OP: the properties asked for into *FIELDS. */
static int folder_shape(struct ews_ctx *c, const xmlNode *op, unsigned *fields)
{
    const xmlNode *shape = soap_child(op, NS_M, "FolderShape"), *base, *more, *p;
    h2o_iovec_t v;
    size_t i;

    if (shape == NULL)
        return ews_incomplete(c, op, NS_M, "FolderShape");
    if ((base = soap_child(shape, NS_T, "BaseShape")) == NULL)
        return ews_incomplete(c, shape, NS_T, "BaseShape");
    v = soap_text(c->rq->pool, base);
    for (i = 0; i < COUNTOF(base_shapes) && strcmp(v.base, base_shapes[i].name) != 0; i++)
        ;
    if (i == COUNTOF(base_shapes))
        return ews_bad_enum(c, base, NULL, v.base, "DefaultShapeNamesType");
    *fields = base_shapes[i].fields;
    more = soap_child(shape, NS_T, "AdditionalProperties");
    for (p = first_element(more); p != NULL; p = next_element(p)) {
        const char *uri = soap_is(p, NS_T, "FieldURI") ? ews_prop(c, p, "FieldURI") : NULL;
        for (i = 0; uri != NULL && i < COUNTOF(field_uris); i++)
            if (strcmp(uri, field_uris[i].uri) == 0)
                *fields |= field_uris[i].field;
    }
    return 0;
}

/* What a FolderIds/ParentFolderIds child names: mailbox and row, or the error of its message. */
struct target {
    const struct scn_account *a;
    int row;
    const char *code; /* NULL: found */
};

static int folder_target(struct ews_ctx *c, const xmlNode *e, struct target *t)
{
    const char *id = soap_is(e, NS_T, "FolderId") || soap_is(e, NS_T, "DistinguishedFolderId")
                         ? ews_prop(c, e, "Id")
                         : NULL;

    *t = (struct target){.a = NULL, .row = NOPARENT, .code = NULL};
    if (!soap_is(e, NS_T, "FolderId") && !soap_is(e, NS_T, "DistinguishedFolderId"))
        return ews_invalid_child(c, e, NS_T, "FolderId, DistinguishedFolderId");
    if (id == NULL)
        return ews_missing_attr(c, e, "Id");
    if (soap_is(e, NS_T, "FolderId")) {
        const struct scn_account *a = NULL;
        if ((t->code = decode_ews_id(c, id, &a, &t->row)) == NULL)
            t->a = open_mailbox(c, a, &t->code);
        return 0;
    }
    for (t->row = 0; (size_t)t->row < COUNTOF(folders); t->row++)
        if (visible(c, t->row) && strcmp(folders[t->row].id, id) == 0)
            break;
    if ((size_t)t->row == COUNTOF(folders))
        return ews_bad_enum(c, e, "Id", id, "DistinguishedFolderIdNameType");
    const xmlNode *mbx = soap_child(e, NS_T, "Mailbox");
    const struct scn_account *a = c->mailbox;
    if (mbx != NULL)
        a = by_smtp(c, soap_text(c->rq->pool, soap_child(mbx, NS_T, "EmailAddress")).base);
    if ((t->a = open_mailbox(c, a, &t->code)) != NULL && !folders[t->row].exists)
        t->code = "ErrorFolderNotFound";
    return 0;
}

/* --- operations ---------------------------------------------------------------------------- */

int ews_op_get_folder(struct ews_ctx *c, const xmlNode *op)
{
    const xmlNode *ids = soap_child(op, NS_M, "FolderIds");
    unsigned fields;
    struct target t;

    if (folder_shape(c, op, &fields) < 0)
        return -1;
    if (ids == NULL || first_element(ids) == NULL)
        return ews_incomplete(c, ids != NULL ? ids : op, NS_M, "FolderIds");
    ews_response_begin(c);
    for (const xmlNode *e = first_element(ids); e != NULL; e = next_element(e)) {
        if (folder_target(c, e, &t) < 0)
            return -1;
        ews_message_begin(c, t.code != NULL ? "Error" : "Success", t.code ? t.code : "NoError");
        start(c->w, "m:Folders");
        if (t.code == NULL)
            write_folder(c, t.a, t.row, fields);
        end(c->w);
        end(c->w);
    }
    return 0;
}

/* FindFolder: Shallow lists a folder's children, Deep all below it, SoftDeleted nothing (no
 * folder was ever deleted); an m:IndexedPageFolderView pages, a restriction is not applied. */
int ews_op_find_folder(struct ews_ctx *c, const xmlNode *op)
{
    static const char *const traversals[] = {"Shallow", "Deep", "SoftDeleted", NULL};
    static const char *const base_points[] = {"Beginning", "End", NULL};
    const char *trav = ews_prop(c, op, "Traversal"), *bp = NULL;
    const xmlNode *ids = soap_child(op, NS_M, "ParentFolderIds");
    const xmlNode *view = soap_child(op, NS_M, "IndexedPageFolderView");
    long max = 0, offset = 0;
    int deep, from_end = 0;
    unsigned fields;
    struct target t;

    if (trav == NULL)
        return ews_missing_attr(c, op, "Traversal");
    if ((deep = one_of(trav, traversals)) < 0)
        return ews_bad_enum(c, op, "Traversal", trav, "FolderQueryTraversalType");
    if (folder_shape(c, op, &fields) < 0)
        return -1;
    if (view != NULL) {
        if (ews_number(c, view, "MaxEntriesReturned", 0, 0, &max) < 0 ||
            ews_number(c, view, "Offset", 0, 0, &offset) < 0)
            return -1;
        if ((bp = ews_prop(c, view, "BasePoint")) == NULL)
            return ews_missing_attr(c, view, "BasePoint");
        if ((from_end = one_of(bp, base_points)) < 0)
            return ews_bad_enum(c, view, "BasePoint", bp, "IndexBasePointType");
    }
    if (ids == NULL || first_element(ids) == NULL)
        return ews_incomplete(c, ids != NULL ? ids : op, NS_M, "ParentFolderIds");
    ews_response_begin(c);
    for (const xmlNode *e = first_element(ids); e != NULL; e = next_element(e)) {
        int rows[COUNTOF(folders)];
        size_t n = 0, first, last;
        char s[16];

        if (folder_target(c, e, &t) < 0)
            return -1;
        ews_message_begin(c, t.code != NULL ? "Error" : "Success", t.code ? t.code : "NoError");
        if (t.code != NULL) {
            end(c->w);
            continue;
        }
        for (size_t i = 0; deep != 2 && i < COUNTOF(folders); i++)
            if (visible(c, (int)i) && folders[i].exists &&
                (deep ? is_below((int)i, t.row) : folders[i].parent == t.row))
                rows[n++] = (int)i;
        offset = offset < 0 ? 0 : (size_t)offset > n ? (long)n : offset;
        first = from_end ? 0 : (size_t)offset;
        last = from_end ? n - (size_t)offset : n;
        if (max > 0 && last - first > (size_t)max) {
            if (from_end)
                first = last - (size_t)max;
            else
                last = first + (size_t)max;
        }
        start(c->w, "m:RootFolder");
        if (view != NULL) {
            snprintf(s, sizeof(s), "%zu", from_end ? n - first : last);
            attr(c->w, "IndexedPagingOffset", s);
        }
        snprintf(s, sizeof(s), "%zu", n);
        attr(c->w, "TotalItemsInView", s);
        attr(c->w, "IncludesLastItemInRange", last == n ? "true" : "false");
        start(c->w, "t:Folders");
        for (size_t i = first; i < last; i++)
            write_folder(c, t.a, rows[i], fields);
        end(c->w);
        end(c->w);
        end(c->w);
    }
    return 0;
}

/* Ambiguous name resolution over the directory's mailboxes: "smtp:" names an address exactly;
 * otherwise a prefix of the display name (or one of its words), account name, UPN or address. */
static int anr_match(const struct scn_account *a, const char *q)
{
    size_t n = strlen(q);
    const char *d = a->display_name;

    if (strncasecmp(q, "smtp:", 5) == 0)
        return strcasecmp(q + 5, a->mailbox) == 0;
    if (strncasecmp(a->sam, q, n) == 0 || strncasecmp(a->mailbox, q, n) == 0 ||
        (a->upn != NULL && strncasecmp(a->upn, q, n) == 0))
        return 1;
    for (; d != NULL && *d != '\0'; d += strcspn(d, " "), d += strspn(d, " "))
        if (strncasecmp(d, q, n) == 0)
            return 1;
    return 0;
}

int ews_op_resolve_names(struct ews_ctx *c, const xmlNode *op)
{
    static const char *const scopes[] = {"ActiveDirectory", "ActiveDirectoryContacts", "Contacts",
                                         "ContactsActiveDirectory", NULL};
    const char *scope = ews_prop(c, op, "SearchScope");
    const xmlNode *entry = soap_child(op, NS_M, "UnresolvedEntry");
    const struct scn_account *found[100];
    const struct scn *s = c->rq->scn;
    long full;
    size_t n = 0;
    char total[16];

    if (ews_prop(c, op, "ReturnFullContactData") == NULL)
        return ews_missing_attr(c, op, "ReturnFullContactData");
    if (ews_number(c, op, "ReturnFullContactData", 1, 0, &full) < 0)
        return -1;
    if (scope != NULL && one_of(scope, scopes) < 0)
        return ews_bad_enum(c, op, "SearchScope", scope, "ResolveNamesSearchScopeType");
    if (entry == NULL)
        return ews_incomplete(c, op, NS_M, "UnresolvedEntry");
    h2o_iovec_t q = soap_text(c->rq->pool, entry);
    if (q.len == 0)
        return ews_schema_error(c, entry, NULL,
                                "The '" NS_M
                                ":UnresolvedEntry' element is invalid - The value '' is "
                                "invalid according to its datatype '" NS_T ":NonEmptyStringType' - "
                                "The actual length is less than the MinLength value.");
    /* the mailbox has no contacts: only the directory answers (not in the scope "Contacts");
     * 100 results at most, as EWS gives */
    int directory = scope == NULL || strcmp(scope, "Contacts") != 0;
    for (size_t i = 0; directory && i < s->num_accounts && n < COUNTOF(found); i++)
        if (s->accounts[i].mailbox != NULL && anr_match(&s->accounts[i], q.base))
            found[n++] = &s->accounts[i];
    ews_response_begin(c);
    ews_message_begin(c,
                      n == 0  ? "Error"
                      : n > 1 ? "Warning"
                              : "Success",
                      n == 0  ? "ErrorNameResolutionNoResults"
                      : n > 1 ? "ErrorNameResolutionMultipleResults"
                              : "NoError");
    if (n == 0)
        return 0;
    start(c->w, "m:ResolutionSet");
    snprintf(total, sizeof(total), "%zu", n);
    attr(c->w, "TotalItemsInView", total);
    attr(c->w, "IncludesLastItemInRange", "true");
    for (size_t i = 0; i < n; i++) {
        char smtp[300];
        start(c->w, "t:Resolution");
        start(c->w, "t:Mailbox");
        elem(c->w, "t:Name", found[i]->display_name);
        elem(c->w, "t:EmailAddress", found[i]->mailbox);
        elem(c->w, "t:RoutingType", "SMTP");
        elem(c->w, "t:MailboxType", "Mailbox");
        end(c->w);
        if (full) {
            start(c->w, "t:Contact");
            elem(c->w, "t:DisplayName", found[i]->display_name);
            start(c->w, "t:EmailAddresses");
            start(c->w, "t:Entry");
            attr(c->w, "Key", "EmailAddress1");
            snprintf(smtp, sizeof(smtp), "SMTP:%s", found[i]->mailbox);
            text(c->w, smtp);
            end(c->w);
            end(c->w);
            elem(c->w, "t:ContactSource", "ActiveDirectory");
            end(c->w);
        }
        end(c->w);
    }
    return 0;
}

static int id_format(const char *name)
{
    for (size_t i = 0; i < COUNTOF(id_formats); i++)
        if (strcmp(name, id_formats[i].name) == 0)
            return (int)i;
    return -1;
}

/* ConvertId for the ids of this mailbox's folders; anything else is malformed, as exchangelib's
 * version probe (Id="DUMMY") expects: an error message inside a 200 that carries the header. */
int ews_op_convert_id(struct ews_ctx *c, const xmlNode *op)
{
    const char *dest = ews_prop(c, op, "DestinationFormat");
    const xmlNode *ids = soap_child(op, NS_M, "SourceIds");
    int to;

    if (dest == NULL)
        return ews_missing_attr(c, op, "DestinationFormat");
    if ((to = id_format(dest)) < 0)
        return ews_bad_enum(c, op, "DestinationFormat", dest, "IdFormatType");
    if (ids == NULL || first_element(ids) == NULL)
        return ews_incomplete(c, ids != NULL ? ids : op, NS_M, "SourceIds");
    ews_response_begin(c);
    for (const xmlNode *e = first_element(ids); e != NULL; e = next_element(e)) {
        const char *fmt = ews_prop(c, e, "Format"), *id = ews_prop(c, e, "Id"),
                   *mbx = ews_prop(c, e, "Mailbox");
        const struct scn_account *a = NULL;
        unsigned char b[EWSID_LEN];
        const char *code = "ErrorInvalidIdMalformed", *out = NULL;
        int from, row = NOPARENT, alt = soap_is(e, NS_T, "AlternateId");

        if (!alt && !soap_is(e, NS_T, "AlternatePublicFolderId") &&
            !soap_is(e, NS_T, "AlternatePublicFolderItemId"))
            return ews_invalid_child(c, e, NS_T, "AlternateId");
        if (fmt == NULL || id == NULL || (alt && mbx == NULL))
            return ews_missing_attr(c, e, fmt == NULL ? "Format" : id == NULL ? "Id" : "Mailbox");
        if ((from = id_format(fmt)) < 0)
            return ews_bad_enum(c, e, "Format", fmt, "IdFormatType");
        if (!alt) {
            /* no public folders in these organisations */
        } else if (id_formats[from].kind == ID_EWS) {
            code = decode_ews_id(c, id, &a, &row);
        } else if (id_formats[from].kind == ID_HEX
                       ? unhex(id, b) == 0
                       : util_b64_decode(id, strlen(id), b, EID_LEN) == EID_LEN) {
            /* an entry id does not say whose it is: the Mailbox attribute does */
            a = by_smtp(c, mbx);
            code = a == NULL || a->mailbox == NULL ? "ErrorNonExistentMailbox"
                                                   : decode_entry_id(c, a, b, &row);
        }
        if (code == NULL && id_formats[to].kind == ID_EWS) {
            out = folder_id(c, a, (size_t)row);
        } else if (code == NULL) {
            char *hex = h2o_mem_alloc_pool(c->rq->pool, 2 * EID_LEN + 1);
            entry_id(a, (size_t)row, b);
            for (size_t i = 0; i < EID_LEN; i++)
                snprintf(hex + 2 * i, 3, "%02X", b[i]);
            out = id_formats[to].kind == ID_HEX ? hex : base64(c, b, EID_LEN);
        }
        ews_message_begin(c, code != NULL ? "Error" : "Success", code != NULL ? code : "NoError");
        if (out != NULL) {
            start(c->w, "m:AlternateId");
            attr(c->w, "xsi:type", "t:AlternateIdType");
            attr(c->w, "Format", dest);
            attr(c->w, "Id", out);
            attr(c->w, "Mailbox", mbx);
            end(c->w);
        }
        end(c->w);
    }
    return 0;
}

/* GetServerTimeZones: a short list (a real server lists the ~140 zones of its Windows). Bias is
 * UTC minus local time; daylight time starts and ends on the last Sunday of two months, at the
 * local times given. Period ids are those Windows' registry rules get in EWS. */
static const struct tz {
    const char *id, *name, *rule, *std_bias, *dst_bias;
    const char *dst_month, *dst_at, *std_month, *std_at;
} zones[] = {
    {"UTC", "(UTC) Coordinated Universal Time", "1", "PT0H", NULL, NULL, NULL, NULL, NULL},
    {"GMT Standard Time", "(UTC+00:00) Dublin, Edinburgh, Lisbon, London", "2006", "PT0H", "-PT1H",
     "3", "PT1H", "10", "PT2H"},
    {"W. Europe Standard Time", "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
     "2006", "-PT1H", "-PT2H", "3", "PT2H", "10", "PT3H"},
};

static void to(xmlTextWriterPtr w, const char *kind, const char *target)
{
    start(w, "t:To");
    attr(w, "Kind", kind);
    text(w, target);
    end(w);
}

static void write_zone(xmlTextWriterPtr w, const struct tz *z, int full)
{
    char std[128], dst[128];

    snprintf(std, sizeof(std), "trule:Microsoft/Registry/%s/%s-Standard", z->id, z->rule);
    snprintf(dst, sizeof(dst), "trule:Microsoft/Registry/%s/%s-Daylight", z->id, z->rule);
    start(w, "t:TimeZoneDefinition");
    attr(w, "Name", z->name);
    attr(w, "Id", z->id);
    if (full) {
        start(w, "t:Periods");
        for (int i = 0; i < (z->dst_bias != NULL ? 2 : 1); i++) {
            start(w, "t:Period");
            attr(w, "Bias", i ? z->dst_bias : z->std_bias);
            attr(w, "Name", i ? "Daylight" : "Standard");
            attr(w, "Id", i ? dst : std);
            end(w);
        }
        end(w);
        start(w, "t:TransitionsGroups");
        start(w, "t:TransitionsGroup");
        attr(w, "Id", "0");
        for (int i = 0; z->dst_bias != NULL && i < 2; i++) {
            start(w, "t:RecurringDayTransition");
            to(w, "Period", i ? std : dst);
            elem(w, "t:TimeOffset", i ? z->std_at : z->dst_at);
            elem(w, "t:Month", i ? z->std_month : z->dst_month);
            elem(w, "t:DayOfWeek", "Sunday");
            elem(w, "t:Occurrence", "-1");
            end(w);
        }
        if (z->dst_bias == NULL) {
            start(w, "t:Transition");
            to(w, "Period", std);
            end(w);
        }
        end(w);
        end(w);
        start(w, "t:Transitions");
        start(w, "t:Transition");
        to(w, "Group", "0");
        end(w);
        end(w);
    }
    end(w);
}

/* Ids the list lacks are left out of the answer (unconfirmed: a real server may fail them). */
int ews_op_get_server_time_zones(struct ews_ctx *c, const xmlNode *op)
{
    const xmlNode *ids = soap_child(op, NS_M, "Ids");
    long full;

    if (ews_number(c, op, "ReturnFullTimeZoneData", 1, 1, &full) < 0)
        return -1;
    ews_response_begin(c);
    ews_message_begin(c, "Success", "NoError");
    start(c->w, "m:TimeZoneDefinitions");
    for (size_t i = 0; i < COUNTOF(zones); i++) {
        int wanted = ids == NULL;
        for (const xmlNode *e = first_element(ids); e != NULL && !wanted; e = next_element(e))
            wanted = strcmp(soap_text(c->rq->pool, e).base, zones[i].id) == 0;
        if (wanted)
            write_zone(c->w, &zones[i], (int)full);
    }
    return 0;
}
