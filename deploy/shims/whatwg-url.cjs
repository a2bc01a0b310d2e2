/**
 * Stands in for the `whatwg-url` package in the function bundles (esbuild `alias`, see
 * serverless.yml and infra/svaStack.ts). Its only user there, node-fetch 2 under the Kubernetes
 * client, takes `URL` from `node:url` whenever the runtime has one (Node always does) and falls
 * back to whatwg-url's otherwise; the package itself drags in a 254 KB Unicode table (tr46) that
 * every cold start would compile for nothing.
 */
'use strict';
module.exports = { URL: globalThis.URL, URLSearchParams: globalThis.URLSearchParams };
