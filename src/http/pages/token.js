// The API token, as both pages keep it. Pasted into the pages at build time
// by cmake/embed_file.cmake (a page's "@include token.js" comment): the
// pages' Content-Security-Policy lets them load nothing but themselves.

const TOKEN_KEY = 'drip.api_token';

// sessionStorage can be switched off (private modes, some embeddings); the
// page then keeps the token in memory and still works until reloaded.
let memoryToken = null;

function storeToken(token) {
  memoryToken = token;
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch (e) { /* memory only */ }
}

function loadToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? memoryToken;
  } catch (e) {
    return memoryToken;
  }
}

function takeTokenFromFragment() {
  const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!match) return;
  storeToken(decodeURIComponent(match[1]));
  // The token should not linger in the address bar, the history or a
  // screenshot of the page.
  history.replaceState(null, '', location.pathname + location.search);
}

// The Authorization header when a token is known, plus `extra`.
function authHeaders(extra) {
  const token = loadToken();
  return Object.assign(token ? { Authorization: 'Bearer ' + token } : {},
                       extra || {});
}
