/*
 * dgw_page_json: a SQLite aggregate that writes a ReadEventRecords page (issue 9).
 *
 * Called over the rows of one time-bucket scan in read order (newest first, the items of an
 * event together), it returns the events' wire JSON texts joined with ',' -- exactly what
 * src/domain/event-json.ts `eventJson` writes for each event -- followed by U+001E and the
 * end offset of each event's text in UTF-16 code units (what JavaScript's string offsets
 * count), as decimals joined with ','. src/storage/sqlite/packed-reads.ts reads it.
 *
 * It returns NULL, and the caller falls back to its JavaScript path for the whole scan,
 * whenever it cannot promise byte-for-byte the same text as that path: text that is not
 * valid UTF-8, a time beyond 2^53 microseconds (JavaScript numbers lose the microsecond
 * there) or outside the years 0000-9999 (Date writes other years with a sign), a column of
 * an unexpected type, or memory exhausted.
 *
 * Built by scripts/build-native.mjs into dist/storage/sqlite/native/; loaded by
 * src/storage/sqlite/page-json-extension.ts. Arguments: the series as a JSON string
 * literal (bound by the caller), event_time, event_id, event_item_key, event_item_value.
 */
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT1
#include <stdint.h>
#include <string.h>

typedef struct {
  char *buf;
  sqlite3_uint64 len, cap;
  sqlite3_uint64 units; /* UTF-16 code units written */
  char *ends;           /* the trailer: ',' joined decimal end offsets */
  sqlite3_uint64 endsLen, endsCap;
  sqlite3_int64 lastTime;
  char *lastId;
  int lastIdLen;
  int open;
  int failed;
} Page;

static int reserve(char **buf, sqlite3_uint64 *cap, sqlite3_uint64 len, sqlite3_uint64 need, int *failed) {
  if (len + need <= *cap) return 1;
  sqlite3_uint64 next = *cap ? *cap : 16384;
  while (next < len + need) next *= 2;
  char *grown = sqlite3_realloc64(*buf, next);
  if (!grown) {
    *failed = 1;
    return 0;
  }
  *buf = grown;
  *cap = next;
  return 1;
}

/* ASCII only: bytes and UTF-16 units are the same count. */
static void putAscii(Page *p, const char *s, sqlite3_uint64 n) {
  if (!reserve(&p->buf, &p->cap, p->len, n, &p->failed)) return;
  memcpy(p->buf + p->len, s, n);
  p->len += n;
  p->units += n;
}
#define PUT_LITERAL(p, lit) putAscii(p, lit, sizeof(lit) - 1)

/*
 * Length in UTF-16 units of valid UTF-8 `s` (n bytes); -1 when it is not valid UTF-8
 * (overlong forms, surrogates, beyond U+10FFFF, truncated sequences).
 */
static sqlite3_int64 utf16Units(const unsigned char *s, int n) {
  sqlite3_int64 units = 0;
  for (int i = 0; i < n;) {
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      units++;
    } else if (c >= 0xC2 && c <= 0xDF) {
      if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return -1;
      i += 2;
      units++;
    } else if (c >= 0xE0 && c <= 0xEF) {
      if (i + 2 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) return -1;
      unsigned cp = ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
      if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
      i += 3;
      units++;
    } else if (c >= 0xF0 && c <= 0xF4) {
      if (i + 3 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80) return -1;
      unsigned cp = ((c & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
      if (cp < 0x10000 || cp > 0x10FFFF) return -1;
      i += 4;
      units += 2;
    } else {
      return -1;
    }
  }
  return units;
}

static const char HEX_LOWER[] = "0123456789abcdef";

/*
 * `JSON.stringify` of UTF-8 text `s`: '"' and '\' escaped, the control characters below
 * U+0020 as \b \t \n \f \r or \u00xx (lower-case hex, as V8 writes them), everything else
 * as is (valid UTF-8 has no lone surrogate, the only other thing JSON.stringify escapes).
 */
static void putQuoted(Page *p, const unsigned char *s, int n) {
  sqlite3_int64 units = utf16Units(s, n);
  if (units < 0) {
    p->failed = 1;
    return;
  }
  if (!reserve(&p->buf, &p->cap, p->len, (sqlite3_uint64)n * 6 + 2, &p->failed)) return;
  char *o = p->buf + p->len;
  sqlite3_uint64 extra = 0; /* escape characters added, all ASCII */
  *o++ = '"';
  for (int i = 0; i < n; i++) {
    unsigned char c = s[i];
    if (c == '"' || c == '\\') {
      *o++ = '\\';
      *o++ = (char)c;
      extra++;
    } else if (c >= 0x20) {
      *o++ = (char)c;
    } else {
      *o++ = '\\';
      switch (c) {
        case '\b': *o++ = 'b'; extra++; break;
        case '\t': *o++ = 't'; extra++; break;
        case '\n': *o++ = 'n'; extra++; break;
        case '\f': *o++ = 'f'; extra++; break;
        case '\r': *o++ = 'r'; extra++; break;
        default:
          *o++ = 'u';
          *o++ = '0';
          *o++ = '0';
          *o++ = HEX_LOWER[c >> 4];
          *o++ = HEX_LOWER[c & 15];
          extra += 5;
      }
    }
  }
  *o++ = '"';
  p->len = (sqlite3_uint64)(o - p->buf);
  p->units += (sqlite3_uint64)units + extra + 2;
}

/* Already a JSON literal (the caller's JSON.stringify): copied, its units counted. */
static void putLiteral(Page *p, const unsigned char *s, int n) {
  sqlite3_int64 units = utf16Units(s, n);
  if (units < 0) {
    p->failed = 1;
    return;
  }
  if (!reserve(&p->buf, &p->cap, p->len, (sqlite3_uint64)n, &p->failed)) return;
  memcpy(p->buf + p->len, s, (size_t)n);
  p->len += (sqlite3_uint64)n;
  p->units += (sqlite3_uint64)units;
}

static const char BASE64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard padded base64, as Buffer's toString('base64') writes it. */
static void putBase64(Page *p, const unsigned char *s, int n) {
  sqlite3_uint64 out = ((sqlite3_uint64)n + 2) / 3 * 4;
  if (!reserve(&p->buf, &p->cap, p->len, out, &p->failed)) return;
  char *o = p->buf + p->len;
  int i = 0;
  for (; i + 2 < n; i += 3) {
    unsigned v = ((unsigned)s[i] << 16) | ((unsigned)s[i + 1] << 8) | s[i + 2];
    *o++ = BASE64[v >> 18];
    *o++ = BASE64[(v >> 12) & 63];
    *o++ = BASE64[(v >> 6) & 63];
    *o++ = BASE64[v & 63];
  }
  if (i < n) {
    int two = i + 1 < n;
    unsigned v = ((unsigned)s[i] << 16) | ((two ? (unsigned)s[i + 1] : 0u) << 8);
    *o++ = BASE64[v >> 18];
    *o++ = BASE64[(v >> 12) & 63];
    *o++ = two ? BASE64[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
  p->len += out;
  p->units += out;
}

static void digits(char *o, int64_t v, int width) {
  for (int i = width - 1; i >= 0; i--) {
    o[i] = (char)('0' + v % 10);
    v /= 10;
  }
}

/* Beyond this, JavaScript numbers (what the other path formats) lose microseconds. */
#define MAX_SAFE_MICROS 9007199254740991LL

/*
 * RFC 3339 in UTC as src/kernel/time.ts formatTimestampMicros writes it:
 * YYYY-MM-DDTHH:MM:SS.mmmZ, or .mmmuuuZ when the microseconds within the millisecond are
 * not 0. Days to civil date: H. Hinnant's algorithm (proleptic Gregorian, as Date).
 */
static void putTime(Page *p, sqlite3_int64 micros) {
  if (micros > MAX_SAFE_MICROS || micros < -MAX_SAFE_MICROS) {
    p->failed = 1;
    return;
  }
  int64_t seconds = micros >= 0 ? micros / 1000000 : -((-micros + 999999) / 1000000);
  int64_t sub = micros - seconds * 1000000; /* 0 .. 999,999 */
  int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
  int64_t inDay = seconds - days * 86400;
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t day = doy - (153 * mp + 2) / 5 + 1;
  int64_t month = mp < 10 ? mp + 3 : mp - 9;
  int64_t year = yoe + era * 400 + (month <= 2);
  if (year < 0 || year > 9999) {
    p->failed = 1;
    return;
  }
  char t[27];
  digits(t, year, 4);
  t[4] = '-';
  digits(t + 5, month, 2);
  t[7] = '-';
  digits(t + 8, day, 2);
  t[10] = 'T';
  digits(t + 11, inDay / 3600, 2);
  t[13] = ':';
  digits(t + 14, (inDay / 60) % 60, 2);
  t[16] = ':';
  digits(t + 17, inDay % 60, 2);
  t[19] = '.';
  int n;
  if (sub % 1000 == 0) {
    digits(t + 20, sub / 1000, 3);
    n = 23;
  } else {
    digits(t + 20, sub, 6);
    n = 26;
  }
  t[n++] = 'Z';
  putAscii(p, t, (sqlite3_uint64)n);
}

/* Closes the open event and records where its text ends. */
static void closeEvent(Page *p) {
  PUT_LITERAL(p, "]}");
  char number[24];
  int n = 0;
  sqlite3_uint64 v = p->units;
  do {
    number[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0);
  if (!reserve(&p->ends, &p->endsCap, p->endsLen, (sqlite3_uint64)n + 1, &p->failed)) return;
  if (p->endsLen > 0) p->ends[p->endsLen++] = ',';
  while (n > 0) p->ends[p->endsLen++] = number[--n];
}

static void pageStep(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  Page *p = sqlite3_aggregate_context(ctx, sizeof(Page));
  if (!p) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if (p->failed) return;
  if (sqlite3_value_type(argv[0]) != SQLITE_TEXT || sqlite3_value_type(argv[1]) != SQLITE_INTEGER || sqlite3_value_type(argv[2]) != SQLITE_TEXT ||
      sqlite3_value_type(argv[3]) != SQLITE_TEXT || sqlite3_value_type(argv[4]) == SQLITE_NULL) {
    p->failed = 1;
    return;
  }
  sqlite3_int64 time = sqlite3_value_int64(argv[1]);
  const unsigned char *id = sqlite3_value_text(argv[2]);
  int idLen = sqlite3_value_bytes(argv[2]);
  if (!id) {
    p->failed = 1;
    return;
  }
  int same = p->open && time == p->lastTime && idLen == p->lastIdLen && memcmp(id, p->lastId, (size_t)idLen) == 0;
  if (same) {
    PUT_LITERAL(p, ",{\"eventItemKey\":");
  } else {
    if (p->open) {
      closeEvent(p);
      PUT_LITERAL(p, ",");
    }
    const unsigned char *series = sqlite3_value_text(argv[0]);
    int seriesLen = sqlite3_value_bytes(argv[0]);
    if (!series) {
      p->failed = 1;
      return;
    }
    PUT_LITERAL(p, "{\"timeSeriesId\":");
    putLiteral(p, series, seriesLen);
    PUT_LITERAL(p, ",\"eventTime\":\"");
    putTime(p, time);
    PUT_LITERAL(p, "\",\"eventId\":");
    putQuoted(p, id, idLen);
    PUT_LITERAL(p, ",\"eventItems\":[{\"eventItemKey\":");
    char *copy = sqlite3_realloc64(p->lastId, (sqlite3_uint64)idLen + 1);
    if (!copy) {
      p->failed = 1;
      return;
    }
    memcpy(copy, id, (size_t)idLen);
    p->lastId = copy;
    p->lastIdLen = idLen;
    p->lastTime = time;
    p->open = 1;
  }
  /* The text first, then its length in bytes: the order SQLite's documentation asks for. */
  const unsigned char *key = sqlite3_value_text(argv[3]);
  int keyLen = sqlite3_value_bytes(argv[3]);
  if (!key) {
    p->failed = 1;
    return;
  }
  putQuoted(p, key, keyLen);
  PUT_LITERAL(p, ",\"eventItemValue\":\"");
  const unsigned char *value = sqlite3_value_blob(argv[4]);
  int valueLen = sqlite3_value_bytes(argv[4]);
  putBase64(p, value, value ? valueLen : 0);
  PUT_LITERAL(p, "\"}");
}

static void pageFree(Page *p) {
  sqlite3_free(p->buf);
  sqlite3_free(p->ends);
  sqlite3_free(p->lastId);
}

static void pageFinal(sqlite3_context *ctx) {
  Page *p = sqlite3_aggregate_context(ctx, 0);
  if (!p) {
    sqlite3_result_text(ctx, "", 0, SQLITE_STATIC); /* no rows */
    return;
  }
  if (p->open && !p->failed) closeEvent(p);
  if (!p->failed && reserve(&p->buf, &p->cap, p->len, p->endsLen + 1, &p->failed)) {
    p->buf[p->len++] = '\x1e';
    if (p->endsLen > 0) memcpy(p->buf + p->len, p->ends, p->endsLen);
    p->len += p->endsLen;
  }
  if (p->failed) {
    sqlite3_result_null(ctx);
    pageFree(p);
    return;
  }
  sqlite3_result_text64(ctx, p->buf, p->len, sqlite3_free, SQLITE_UTF8);
  p->buf = 0;
  pageFree(p);
}

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_pagejson_init(sqlite3 *db, char **error, const sqlite3_api_routines *api) {
  (void)error;
  SQLITE_EXTENSION_INIT2(api);
  return sqlite3_create_function(db, "dgw_page_json", 5, SQLITE_UTF8 | SQLITE_DETERMINISTIC, 0, 0, pageStep, pageFinal);
}
