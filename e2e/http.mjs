// e2e/http.mjs — small HTTP helpers for the tests: a client with a cookie jar that does not follow
// redirects, and a reader for the HTML forms a page contains.

/** A fetch wrapper bound to one origin, keeping cookies like a browser would (name=value only). */
export class Client {
  constructor(base) {
    this.base = base;
    this.cookies = new Map();
  }

  /** Request `target` (path or URL); resolves to { status, headers, body (string), location }. */
  async request(target, { headers = {}, ...init } = {}) {
    const all = new Headers(headers);
    if (this.cookies.size && !all.has('cookie')) {
      all.set('cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    }
    const response = await fetch(new URL(target, this.base), { redirect: 'manual', ...init, headers: all });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age\s*=\s*(0|-)/i.test(a)
        || (/^\s*expires\s*=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now()));
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const body = await response.text();
    return { status: response.status, headers: response.headers, body, location: response.headers.get('location') };
  }

  /** POST `fields` as a urlencoded form, with the Origin header a browser sends. */
  postForm(target, fields, extra = {}) {
    return this.request(target, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(this.base).origin },
      body: new URLSearchParams(fields).toString(),
      ...extra,
    });
  }
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const decode = (text) => text.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (whole, name) => {
  if (name[0] === '#') {
    return String.fromCodePoint(name[1].toLowerCase() === 'x' ? parseInt(name.slice(2), 16) : Number(name.slice(1)));
  }
  return ENTITIES[name.toLowerCase()] ?? whole;
});

/** The value of attribute `name` in a tag's attribute text, entity-decoded; undefined if absent. */
export function attribute(attributes, name) {
  const match = attributes.match(new RegExp(`(?:^|\\s)${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i'));
  return match ? decode(match[1] ?? match[2] ?? match[3]) : undefined;
}

/** The forms in `html`: [{ method, action, fields: {name: value} }] (inputs and named buttons). */
export function forms(html) {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map(([, attributes, inner]) => ({
    method: (attribute(attributes, 'method') ?? 'get').toLowerCase(),
    action: attribute(attributes, 'action') ?? '',
    fields: Object.fromEntries(
      [...inner.matchAll(/<(?:input|button|textarea)\b([^>]*)>/gi)]
        .map(([, a]) => [attribute(a, 'name'), attribute(a, 'value') ?? ''])
        .filter(([name]) => name),
    ),
  }));
}

/** Parse a Content-Security-Policy header into { directive: [sources] }. */
export function parseCsp(header) {
  return Object.fromEntries(
    header.split(';').map((d) => d.trim().split(/\s+/)).filter(([name]) => name)
      .map(([name, ...sources]) => [name.toLowerCase(), sources]),
  );
}
