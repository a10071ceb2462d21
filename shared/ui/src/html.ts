// HTML by template literals: every interpolated value goes through esc() (h`` does it), so nothing a
// manifest or an Event says can become markup.
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export function esc(value: unknown): string {
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');
}

/** A template tag: values escaped unless already Html; arrays joined. */
export function h(strings: TemplateStringsArray, ...values: unknown[]): Html {
  const part = (v: unknown): string => (v instanceof Html ? v.text : Array.isArray(v) ? v.map(part).join('') : esc(v));
  return new Html(strings.reduce((out, s, i) => out + s + (i < values.length ? part(values[i]) : ''), ''));
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d3557;color:#fff;padding:10px 20px;display:flex;gap:20px;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}
main{padding:16px 20px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e2e5ea;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5}
.status{font-weight:600;padding:1px 6px;border-radius:4px}
.s-Running{background:#d8f3dc;color:#1b4332}.s-other{background:#ffe8cc;color:#7f4f24}
.errors{background:#ffe3e3;border:1px solid #c92a2a;padding:8px 12px;margin:10px 0}
.warnings{background:#fff3bf;border:1px solid #e67700;padding:8px 12px;margin:10px 0}
pre{background:#fff;border:1px solid #e2e5ea;padding:10px;overflow:auto;max-height:480px}
form label{display:block;margin:6px 0}
form input[type=text],form textarea{width:320px}
.small{color:#5c6370;font-size:12px}
.nowrap{white-space:nowrap}
`;

export function layout(title: string, body: Html): string {
  return h`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title} · pgfn</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${new Html(STYLE)}</style></head>
<body><header><a href="/">pgfn clusters</a><a href="/new">Create a cluster</a></header><main>${body}</main></body></html>`.text;
}
