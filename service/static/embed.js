// vimod: the embeddable comment form (docs/public-api.md). One tag on the host page,
//   <script src="https://VIMOD_HOST/embed.js" async data-site="vmp_…" data-article-id="…"
//           data-article-url="…" data-article-title="…" [data-target="#id"] [data-lang="en"]
//           [data-max-length="2000"] [data-per-page="20"]></script>
// renders a <vimod-comments> element whose shadow root holds the form and the approved
// comments. No build step, no dependencies, nothing inline (no <style>, no style=, no
// handlers in markup, no eval): it works under a strict CSP. The only style is embed.css,
// linked from the vimod origin. Comment text is untrusted: it is only ever set with
// textContent.
(function () {
  "use strict";

  const TEXTS = {
    vi: {
      heading: "Viết bình luận",
      reminder: "Hãy sử dụng tiếng Việt có dấu khi viết bài.",
      moderated: "Bình luận của bạn sẽ được biên tập trước khi đăng.",
      requiredNote: "Các mục có dấu (*) là bắt buộc.",
      name: "Họ tên",
      email: "Email",
      body: "Nội dung bình luận",
      remaining: "Số ký tự còn lại: ",
      captcha: "Mã xác nhận",
      captchaHintImage: "Nhập các ký tự trong ảnh (không phân biệt chữ hoa, chữ thường).",
      captchaHintAudio: "Nhập các chữ số bạn nghe được.",
      captchaImageAlt: "Ảnh mã xác nhận",
      captchaLoading: "Đang tải mã xác nhận…",
      refresh: "Đổi mã khác",
      listen: "Nghe mã",
      listenAgain: "Nghe lại",
      submit: "Gửi bình luận",
      sending: "Đang gửi…",
      honeypot: "Website",
      diacriticsWarning: "Bình luận của bạn dường như viết không dấu. Bình luận không dấu " +
        "khó đọc và có thể không được đăng. Văn bản có dấu gợi ý (hãy đọc lại trước khi gửi):",
      applySuggestion: "Dùng văn bản có dấu",
      dismissSuggestion: "Giữ nguyên",
      suggestionApplied: "Đã thay bằng văn bản có dấu.",
      nameRequired: "Vui lòng nhập họ tên.",
      nameInvalid: "Họ tên không hợp lệ (một dòng, tối đa 100 ký tự).",
      emailRequired: "Vui lòng nhập email.",
      emailInvalid: "Địa chỉ email không hợp lệ.",
      bodyRequired: "Vui lòng nhập nội dung bình luận.",
      bodyTooLong: (over, max) => `Bình luận dài quá giới hạn ${max} ký tự: hãy bớt ${over} ký tự.`,
      bodyInvalid: "Nội dung bình luận có ký tự không hợp lệ.",
      captchaRequired: "Vui lòng nhập mã xác nhận.",
      captchaInvalid: "Mã xác nhận không đúng hoặc đã hết hạn. Đã đổi mã mới, vui lòng nhập lại.",
      captchaLoadFailed: "Không tải được mã xác nhận. Nhấn “Đổi mã khác” để thử lại.",
      parentInvalid: "Bình luận bạn trả lời không còn hiển thị. Đã bỏ chế độ trả lời; " +
        "nhấn “Gửi bình luận” để gửi như một bình luận mới.",
      fixErrors: "Vui lòng sửa các mục được đánh dấu.",
      tooFast: "Bạn gửi hơi nhanh. Vui lòng đợi vài giây rồi gửi lại.",
      honeypotRefused: "Không thể gửi bình luận này.",
      formExpired: "Biểu mẫu đã mở quá lâu. Vui lòng nhập mã xác nhận mới rồi gửi lại.",
      originNotAllowed: "Trang này chưa được phép dùng hệ thống bình luận (địa chỉ trang " +
        "hoặc mã trang chưa được đăng ký). Vui lòng báo cho ban biên tập.",
      unknownSite: "Không tìm thấy trang bình luận (mã trang không đúng).",
      rateLimited: (s) => s ? `Bạn đã gửi quá nhiều lần. Vui lòng thử lại sau ${s} giây.`
        : "Bạn đã gửi quá nhiều lần. Vui lòng thử lại sau ít phút.",
      network: "Không kết nối được tới máy chủ bình luận. Nội dung bạn viết vẫn còn; " +
        "vui lòng thử lại.",
      serverError: "Máy chủ bình luận đang gặp sự cố. Nội dung bạn viết vẫn còn; " +
        "vui lòng thử lại sau.",
      pending: "Đang chờ duyệt",
      mine: "Bình luận bạn đã gửi",
      comments: "Bình luận",
      count: (n) => `${n} bình luận`,
      order: "Sắp xếp",
      newest: "Mới nhất",
      oldest: "Cũ nhất",
      more: "Xem thêm bình luận",
      empty: "Chưa có bình luận nào.",
      loading: "Đang tải bình luận…",
      loadFailed: "Không tải được bình luận.",
      retry: "Thử lại",
      reply: "Trả lời",
      replyingTo: "Trả lời bình luận của ",
      cancelReply: "Hủy trả lời",
      inReplyTo: "trả lời ",
      siteMissing: "Thiếu thuộc tính data-site hoặc data-article-id.",
    },
    en: {
      heading: "Write a comment",
      reminder: "Please write Vietnamese with diacritics.",
      moderated: "Your comment will be reviewed by an editor before it is published.",
      requiredNote: "Fields marked (*) are required.",
      name: "Name",
      email: "Email",
      body: "Comment",
      remaining: "Characters remaining: ",
      captcha: "Verification code",
      captchaHintImage: "Type the characters in the image (not case-sensitive).",
      captchaHintAudio: "Type the digits you hear.",
      captchaImageAlt: "Verification code image",
      captchaLoading: "Loading the verification code…",
      refresh: "New code",
      listen: "Listen",
      listenAgain: "Play again",
      submit: "Post comment",
      sending: "Sending…",
      honeypot: "Website",
      diacriticsWarning: "Your comment seems to be written without diacritics, which is " +
        "hard to read and may not be published. Suggested text with diacritics (check it " +
        "before sending):",
      applySuggestion: "Use the text with diacritics",
      dismissSuggestion: "Keep mine",
      suggestionApplied: "Replaced with the text with diacritics.",
      nameRequired: "Please enter your name.",
      nameInvalid: "The name is not valid (one line, at most 100 characters).",
      emailRequired: "Please enter your email.",
      emailInvalid: "The email address is not valid.",
      bodyRequired: "Please write your comment.",
      bodyTooLong: (over, max) => `The comment is over the ${max}-character limit: remove ${over} characters.`,
      bodyInvalid: "The comment contains characters that are not allowed.",
      captchaRequired: "Please enter the verification code.",
      captchaInvalid: "The verification code was wrong or expired. Here is a new one; please type it.",
      captchaLoadFailed: "The verification code could not be loaded. Press “New code” to retry.",
      parentInvalid: "The comment you replied to is no longer shown. Reply mode is off; " +
        "press “Post comment” to send it as a new comment.",
      fixErrors: "Please correct the marked fields.",
      tooFast: "That was a little fast. Please wait a few seconds and send again.",
      honeypotRefused: "This comment cannot be sent.",
      formExpired: "The form has been open too long. Please type the new code and send again.",
      originNotAllowed: "This page may not use the comment service (its address or site " +
        "key is not registered). Please tell the editors.",
      unknownSite: "Comment section not found (wrong site key).",
      rateLimited: (s) => s ? `Too many attempts. Please try again in ${s} seconds.`
        : "Too many attempts. Please try again in a few minutes.",
      network: "Could not reach the comment server. Your text is still here; please try again.",
      serverError: "The comment server has a problem. Your text is still here; please try later.",
      pending: "Awaiting review",
      mine: "Your comments",
      comments: "Comments",
      count: (n) => `${n} ${n === 1 ? "comment" : "comments"}`,
      order: "Sort",
      newest: "Newest",
      oldest: "Oldest",
      more: "More comments",
      empty: "No comments yet.",
      loading: "Loading comments…",
      loadFailed: "The comments could not be loaded.",
      retry: "Retry",
      reply: "Reply",
      replyingTo: "Replying to ",
      cancelReply: "Cancel reply",
      inReplyTo: "replying to ",
      siteMissing: "The data-site or data-article-id attribute is missing.",
    },
  };

  const NAME_MAX = 100;
  const DEBOUNCE_MS = 600;
  const DIACRITICS_MIN_CHARS = 8;
  // Codes the server checks before the CAPTCHA (docs/public-api.md): the challenge is
  // still unused after them. After any other failure a new challenge is fetched.
  const BEFORE_CAPTCHA = new Set(["validation_error", "honeypot", "form_expired", "too_fast",
    "origin_not_allowed", "invalid_json", "unsupported_media_type", "request_too_large"]);

  const script = document.currentScript ||
    document.querySelector("script[data-site][src*='embed.js']");
  if (!script || script.dataset.vimodDone) return;
  script.dataset.vimodDone = "1";

  const cfg = script.dataset;
  const scriptUrl = new URL(script.src, document.baseURI);
  const ORIGIN = scriptUrl.origin;
  const CSS_URL = new URL("embed.css", scriptUrl).href;
  const LANG = cfg.lang === "en" ? "en" : "vi";
  const T = TEXTS[LANG];
  const SITE = (cfg.site || "").trim();
  const ARTICLE = (cfg.articleId || "").trim();
  const PER_PAGE = Math.min(50, Math.max(1, parseInt(cfg.perPage, 10) || 20));
  const API = `${ORIGIN}/api/v1/public/sites/${encodeURIComponent(SITE)}`;
  const COMMENTS_URL = `${API}/articles/${encodeURIComponent(ARTICLE)}/comments`;
  const MINE_KEY = `vimod:mine:${SITE}:${ARTICLE}`;
  let maxLength = parseInt(cfg.maxLength, 10) > 0 ? parseInt(cfg.maxLength, 10) : 2000;

  // --- small helpers ------------------------------------------------------------------

  // Characters as the server counts them: code points after NFC.
  function charCount(text) {
    return Array.from(text.normalize("NFC")).length;
  }

  // Elements without markup strings: attributes via setAttribute, text via textContent.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key === "hidden") node.hidden = true;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function randomKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);  // crypto.randomUUID needs https; this works on http too
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function pad(n) { return String(n).padStart(2, "0"); }

  // "14:05 25/11/2026" in the reader's time zone, as Vietnamese news sites write it.
  function formatTime(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return "";
    return `${pad(d.getHours())}:${pad(d.getMinutes())} ${pad(d.getDate())}/` +
      `${pad(d.getMonth() + 1)}/${d.getFullYear()}`;
  }

  // Is vimod reachable at all? An opaque answer says yes without reading anything.
  async function reachable() {
    try {
      await fetch(`${ORIGIN}/healthz`, { mode: "no-cors", credentials: "omit", cache: "no-store" });
      return true;
    } catch (_) { return false; }
  }

  // {ok, status, data, error, retryAfter}; network: vimod unreachable; refused: reachable
  // but the answer was not shared with this page (CORS): the page's origin is not one of
  // the site's allowed origins (or the public key is unknown).
  async function call(method, url, body, options) {
    const opts = options || {};
    const init = { method, mode: "cors", credentials: "omit" };
    if (opts.cache) init.cache = opts.cache;
    if (opts.signal) init.signal = opts.signal;
    if (body !== undefined) {
      init.headers = Object.assign({ "Content-Type": "application/json" }, opts.headers || {});
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (err) {
      if (err && err.name === "AbortError") throw err;
      const up = opts.probe !== false && await reachable();
      return { ok: false, status: 0, network: !up, refused: up, data: null, error: null };
    }
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    return {
      ok: response.ok, status: response.status, data,
      error: (data && data.error) || null,
      retryAfter: parseInt(response.headers.get("Retry-After"), 10) || null,
    };
  }

  function loadMine() {
    try {
      const items = JSON.parse(sessionStorage.getItem(MINE_KEY) || "[]");
      return Array.isArray(items) ? items : [];
    } catch (_) { return []; }
  }

  function saveMine(items) {
    try {
      if (items.length) sessionStorage.setItem(MINE_KEY, JSON.stringify(items));
      else sessionStorage.removeItem(MINE_KEY);
    } catch (_) { /* storage off: the pending note lasts until reload */ }
  }

  // --- the host element and its shadow root --------------------------------------------

  if (!customElements.get("vimod-comments")) {
    customElements.define("vimod-comments", class extends HTMLElement {});
  }
  const host = document.createElement("vimod-comments");
  const root = host.attachShadow({ mode: "open" });
  const sheet = el("link", { rel: "stylesheet", href: CSS_URL });
  const frame = el("div", { class: "vimod", lang: LANG, hidden: true });
  // Shown once styled (or once the sheet failed: unstyled beats invisible).
  const reveal = () => { frame.hidden = false; };
  sheet.addEventListener("load", reveal);
  sheet.addEventListener("error", reveal);
  setTimeout(reveal, 3000);
  root.append(sheet, frame);

  function mount() {
    const target = cfg.target ? document.querySelector(cfg.target) : null;
    if (target) target.append(host);
    else script.after(host);
  }
  if (cfg.target && !document.querySelector(cfg.target) && document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mount, { once: true });
  } else {
    mount();
  }

  if (!SITE || !ARTICLE) {
    frame.append(el("p", { class: "status error", role: "alert", text: `vimod: ${T.siteMissing}` }));
    return;
  }

  // --- the form ------------------------------------------------------------------------

  const status = el("p", { class: "status", role: "status", "aria-live": "polite" });

  function say(message, kind) {
    status.textContent = message || "";
    status.className = "status" + (kind ? ` ${kind}` : "");
  }

  const fields = {};

  function field(id, label, control, extra) {
    const error = el("p", { class: "error", id: `vimod-${id}-error`, hidden: true });
    const describedBy = [extra && extra.describedBy, error.id].filter(Boolean).join(" ");
    control.id = `vimod-${id}`;
    control.setAttribute("aria-describedby", describedBy);
    if (control.required) control.setAttribute("aria-required", "true");
    const wrap = el("div", { class: `field field-${id}` },
      el("label", { for: control.id },
        label, control.required ? el("span", { class: "req", "aria-hidden": "true", text: " *" }) : null),
      control, ...(extra && extra.after ? extra.after : []), error);
    fields[id] = { control, error, wrap };
    return wrap;
  }

  function setError(id, message) {
    const f = fields[id];
    f.error.textContent = message || "";
    f.error.hidden = !message;
    if (message) f.control.setAttribute("aria-invalid", "true");
    else f.control.removeAttribute("aria-invalid");
    f.wrap.classList.toggle("invalid", Boolean(message));
  }

  function clearErrors() {
    for (const id of Object.keys(fields)) setError(id, "");
  }

  const nameInput = el("input", { type: "text", name: "name", autocomplete: "name", required: true,
    maxlength: NAME_MAX });
  const emailInput = el("input", { type: "email", name: "email", autocomplete: "email",
    required: true, inputmode: "email", spellcheck: "false" });
  const bodyInput = el("textarea", { name: "body", rows: 6, required: true, dir: "auto" });
  const counterValue = el("span", { class: "counter-value" });
  const counter = el("p", { class: "counter", id: "vimod-body-counter" }, T.remaining, counterValue);

  // The diacritics warning: the reader decides whether to use the suggestion.
  const suggestionText = el("p", { class: "suggestion-text" });
  const applyButton = el("button", { type: "button", class: "apply", text: T.applySuggestion });
  const dismissButton = el("button", { type: "button", class: "dismiss secondary",
    text: T.dismissSuggestion });
  const warning = el("div", { class: "diacritics-warning", id: "vimod-diacritics", hidden: true },
    el("p", { class: "warning-text", text: T.diacriticsWarning }),
    suggestionText,
    el("div", { class: "buttons" }, applyButton, dismissButton));
  // Announced when it appears, without taking the focus from the textarea.
  const warningLive = el("div", { class: "live", "aria-live": "polite" }, warning);

  const honeypot = el("input", { type: "text", name: "website", id: "vimod-website",
    tabindex: "-1", autocomplete: "off", value: "" });
  const honeypotWrap = el("div", { class: "hp", "aria-hidden": "true" },
    el("label", { for: "vimod-website", text: T.honeypot }), honeypot);

  const captchaImage = el("img", { class: "captcha-image", alt: T.captchaImageAlt, width: 200,
    height: 70, hidden: true });
  const captchaLoading = el("span", { class: "captcha-loading", text: T.captchaLoading });
  const refreshButton = el("button", { type: "button", class: "link refresh", text: T.refresh });
  const listenButton = el("button", { type: "button", class: "link listen", text: T.listen });
  const captchaHint = el("p", { class: "hint", id: "vimod-captcha-hint", text: T.captchaHintImage });
  const captchaInput = el("input", { type: "text", name: "captcha", required: true,
    autocomplete: "off", autocapitalize: "off", spellcheck: "false", maxlength: 20 });

  const replyName = el("strong", { dir: "auto" });
  const cancelReplyButton = el("button", { type: "button", class: "link cancel-reply",
    text: T.cancelReply });
  const replyBanner = el("p", { class: "replying", hidden: true }, T.replyingTo, replyName, " ",
    cancelReplyButton);

  const submitButton = el("button", { type: "submit", class: "submit", text: T.submit });

  const form = el("form", { class: "form", novalidate: true, "aria-labelledby": "vimod-heading" },
    replyBanner,
    field("name", T.name, nameInput),
    field("email", T.email, emailInput),
    field("body", T.body, bodyInput, { describedBy: "vimod-body-counter", after: [counter, warningLive] }),
    honeypotWrap,
    field("captcha", T.captcha, captchaInput, {
      describedBy: "vimod-captcha-hint",
      after: [captchaHint],
    }),
    el("div", { class: "actions" }, submitButton),
  );
  // The challenge sits between the label and the answer box.
  fields.captcha.wrap.insertBefore(
    el("div", { class: "captcha-row" }, captchaLoading, captchaImage,
      el("span", { class: "captcha-buttons" }, refreshButton, listenButton)),
    captchaInput);

  const mineList = el("ol", { class: "comment-list mine-list" });
  const mineSection = el("section", { class: "mine", "aria-labelledby": "vimod-mine-heading", hidden: true },
    el("h3", { id: "vimod-mine-heading", text: T.mine }), mineList);

  frame.append(
    el("section", { class: "compose" },
      el("h2", { id: "vimod-heading", text: T.heading }),
      el("p", { class: "reminder" }, el("strong", { text: T.reminder }), " ", T.moderated),
      el("p", { class: "required-note", text: T.requiredNote }),
      form, status),
    mineSection);

  // --- counter -------------------------------------------------------------------------

  let wasOver = false;

  function updateCounter() {
    const left = maxLength - charCount(bodyInput.value);
    counterValue.textContent = String(left);
    const over = left < 0;
    counter.classList.toggle("over", over);
    if (over) setError("body", T.bodyTooLong(-left, maxLength));
    else if (wasOver) setError("body", "");
    wasOver = over;
  }

  // --- diacritics check, debounced; only the latest answer counts ------------------------

  let checkTimer = null;
  let checkSeq = 0;
  let checkAbort = null;
  let checked = null;  // {text, suggestion} behind the visible warning
  let dismissed = false;

  function hideWarning() {
    warning.hidden = true;
    checked = null;
  }

  function scheduleCheck(delay) {
    clearTimeout(checkTimer);
    checkSeq++;
    if (checkAbort) { checkAbort.abort(); checkAbort = null; }
    const text = bodyInput.value;
    if (dismissed) return;
    if (text.trim().length < DIACRITICS_MIN_CHARS) { hideWarning(); return; }
    const seq = checkSeq;
    checkTimer = setTimeout(() => runCheck(seq, text), delay);
  }

  async function runCheck(seq, text) {
    const abort = new AbortController();
    checkAbort = abort;
    let result;
    try {
      result = await call("POST", `${ORIGIN}/api/v1/diacritics`, { text },
        { signal: abort.signal, probe: false });
    } catch (_) {
      return;  // aborted: a newer check is on its way
    }
    if (seq !== checkSeq || dismissed) return;  // stale
    checkAbort = null;
    if (!result.ok || !result.data) return;  // the check is a help, never a blocker
    const data = result.data;
    if (data.verdict === "missing" && data.suggestion && data.suggestion !== text) {
      checked = { text, suggestion: data.suggestion };
      suggestionText.textContent = data.suggestion;
      warning.hidden = false;
    } else {
      hideWarning();
    }
  }

  applyButton.addEventListener("click", () => {
    if (!checked) return;
    const now = bodyInput.value;
    let next;
    if (now === checked.text) next = checked.suggestion;
    // Typed on after the check: keep what came after the checked part.
    else if (now.startsWith(checked.text)) next = checked.suggestion + now.slice(checked.text.length);
    if (next === undefined) { hideWarning(); scheduleCheck(0); return; }
    bodyInput.value = next;
    hideWarning();
    checkSeq++;
    updateCounter();
    bodyInput.focus();
    bodyInput.setSelectionRange(next.length, next.length);
    say(T.suggestionApplied);
  });

  dismissButton.addEventListener("click", () => {
    dismissed = true;
    hideWarning();
    bodyInput.focus();
  });

  bodyInput.addEventListener("input", () => {
    setError("body", "");
    wasOver = false;
    updateCounter();
    scheduleCheck(DEBOUNCE_MS);
  });
  // A field's error goes once the reader changes that field (the counter's stays true).
  for (const id of ["name", "email", "captcha"]) {
    fields[id].control.addEventListener("input", () => setError(id, ""));
  }

  // --- CAPTCHA -------------------------------------------------------------------------

  let challenge = null;   // {id, kind, image_url, audio_url}
  let formToken = null;   // from the first challenge of the page
  let audio = null;
  let captchaBusy = false;

  async function newChallenge(kind) {
    if (captchaBusy) return;
    captchaBusy = true;
    challenge = null;
    captchaInput.value = "";
    captchaImage.hidden = true;
    captchaLoading.hidden = false;
    const result = await call("POST", `${API}/captcha`, { kind: kind || "image" });
    captchaBusy = false;
    captchaLoading.hidden = true;
    if (!result.ok || !result.data) {
      const code = result.error && result.error.code;
      if (result.refused) say(T.originNotAllowed, "error");
      setError("captcha", result.status === 429 ? T.rateLimited(result.retryAfter)
        : result.refused ? T.originNotAllowed
          : code === "not_found" ? T.unknownSite : T.captchaLoadFailed);
      return false;
    }
    const data = result.data;
    challenge = data;
    if (!formToken) formToken = data.form_token;
    if (data.kind === "audio") {
      captchaHint.textContent = T.captchaHintAudio;
      listenButton.textContent = T.listenAgain;
      captchaInput.setAttribute("inputmode", "numeric");
      play();
    } else {
      captchaHint.textContent = T.captchaHintImage;
      listenButton.textContent = T.listen;
      captchaInput.removeAttribute("inputmode");
      captchaImage.src = data.image_url;
      captchaImage.hidden = false;
    }
    return true;
  }

  function play() {
    if (!challenge || !challenge.audio_url) return;
    if (audio) audio.pause();
    audio = new Audio(challenge.audio_url);
    const played = audio.play();
    if (played && played.catch) played.catch(() => {});
  }

  refreshButton.addEventListener("click", async () => {
    setError("captcha", "");
    await newChallenge("image");
    captchaInput.focus();
  });

  listenButton.addEventListener("click", async () => {
    setError("captcha", "");
    if (challenge && challenge.kind === "audio") play();
    else await newChallenge("audio");
    captchaInput.focus();
  });

  // --- replying ------------------------------------------------------------------------

  let replyTo = null;  // {id, name}

  function startReply(comment) {
    replyTo = { id: comment.id, name: comment.author.name };
    replyName.textContent = comment.author.name;
    replyBanner.hidden = false;
    form.scrollIntoView({ block: "start", behavior: "smooth" });
    bodyInput.focus({ preventScroll: true });
  }

  function cancelReply() {
    replyTo = null;
    replyBanner.hidden = true;
  }

  cancelReplyButton.addEventListener("click", () => { cancelReply(); bodyInput.focus(); });

  // --- submitting ----------------------------------------------------------------------

  const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

  function validate() {
    const errors = {};
    const name = nameInput.value.trim();
    if (!name) errors.name = T.nameRequired;
    else if (charCount(name) > NAME_MAX || /[\r\n]/.test(name)) errors.name = T.nameInvalid;
    const email = emailInput.value.trim();
    if (!email) errors.email = T.emailRequired;
    else if (!EMAIL.test(email)) errors.email = T.emailInvalid;
    const body = bodyInput.value;
    if (!body.trim()) errors.body = T.bodyRequired;
    else if (charCount(body) > maxLength) errors.body = T.bodyTooLong(charCount(body) - maxLength, maxLength);
    if (!captchaInput.value.trim()) errors.captcha = challenge ? T.captchaRequired : T.captchaLoadFailed;
    return errors;
  }

  function showErrors(errors) {
    const order = ["name", "email", "body", "captcha"];
    let first = null;
    for (const id of order) {
      setError(id, errors[id] || "");
      if (errors[id] && !first) first = fields[id].control;
    }
    if (first) first.focus();
    return Boolean(first);
  }

  // The server's field names (docs/public-api.md) to the form's fields and messages.
  function fieldErrors(serverFields) {
    const errors = {};
    for (const [key, message] of Object.entries(serverFields || {})) {
      const text = String(message || "");
      if (key === "author.name" || key === "author") errors.name = T.nameInvalid;
      else if (key === "author.email") errors.email = T.emailInvalid;
      else if (key === "body") {
        const limit = /Longer than (\d+)/.exec(text);
        if (limit) {
          maxLength = parseInt(limit[1], 10);  // the site's own limit: the counter follows it
          updateCounter();
          errors.body = T.bodyTooLong(Math.max(1, charCount(bodyInput.value) - maxLength), maxLength);
        } else if (/blank|required|Missing/i.test(text)) errors.body = T.bodyRequired;
        else errors.body = T.bodyInvalid;
      } else if (key.startsWith("captcha")) errors.captcha = T.captchaInvalid;
      else if (key === "parent_id") errors.parent = T.parentInvalid;
      else errors.other = T.serverError;
    }
    return errors;
  }

  let sending = false;
  let attempt = null;  // {key, signature}: the Idempotency-Key of the comment being sent

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (sending) return;
    say("");
    const local = validate();
    if (showErrors(local)) { say(T.fixErrors, "error"); return; }
    const payload = {
      author: { name: nameInput.value.trim(), email: emailInput.value.trim() },
      body: bodyInput.value,
      captcha: { id: challenge.id, answer: captchaInput.value.trim() },
      form_token: formToken,
      website: honeypot.value,
    };
    if (replyTo) payload.parent_id = replyTo.id;
    const article = {};
    if (cfg.articleUrl) article.url = cfg.articleUrl;
    if (cfg.articleTitle) article.title = cfg.articleTitle;
    if (Object.keys(article).length) payload.article = article;

    // One random key per comment written: a resend after a lost answer is never stored twice.
    const signature = JSON.stringify([payload.author, payload.body, payload.parent_id || null,
      payload.article || null]);
    if (!attempt || attempt.signature !== signature) attempt = { key: randomKey(), signature };

    sending = true;
    submitButton.disabled = true;
    submitButton.textContent = T.sending;
    form.setAttribute("aria-busy", "true");
    let result;
    try {
      // A failure here is the network's: a page whose origin is refused never got a
      // challenge to send (the challenge and the listing say so when the form loads).
      result = await call("POST", COMMENTS_URL, payload,
        { headers: { "Idempotency-Key": attempt.key }, probe: false });
    } finally {
      sending = false;
      submitButton.disabled = false;
      submitButton.textContent = T.submit;
      form.removeAttribute("aria-busy");
    }
    if (result.ok) { accepted(result.data, payload); return; }

    const code = result.error ? result.error.code : null;
    let message = T.serverError;
    let errors = {};
    if (result.network) message = T.network;
    else if (code === "validation_error") {
      errors = fieldErrors(result.error.fields);
      if (errors.parent) { cancelReply(); message = errors.parent; }
      else message = errors.other || T.fixErrors;
    } else if (code === "captcha_invalid") { errors.captcha = T.captchaInvalid; message = T.fixErrors; }
    else if (code === "too_fast") message = T.tooFast;
    else if (code === "honeypot") message = T.honeypotRefused;
    else if (code === "form_expired") message = T.formExpired;
    else if (code === "origin_not_allowed") message = T.originNotAllowed;
    else if (code === "not_found") message = T.unknownSite;
    else if (code === "rate_limited" || result.status === 429) message = T.rateLimited(result.retryAfter);

    if (code === "form_expired") formToken = null;  // the next challenge's token is fresh
    // A challenge the server may have used up is never offered again. (After a lost
    // answer the same challenge is kept: the resend carries the same Idempotency-Key, and
    // if the server did use it, captcha_invalid brings a new one.)
    const kept = (code && BEFORE_CAPTCHA.has(code)) || result.network;
    if (!kept || code === "form_expired") {
      await newChallenge(challenge ? challenge.kind : "image");
    }
    say(message, "error");
    if (!showErrors(errors)) submitButton.focus();
  });

  function accepted(data, payload) {
    attempt = null;
    clearErrors();
    say(T.moderated, "success");
    const mine = loadMine().filter((c) => !data || c.id !== data.id);  // a resend's answer
    mine.push({
      id: data && data.id,
      author: { name: payload.author.name },
      body: payload.body,
      created_at: new Date().toISOString(),
      reply_to: replyTo ? replyTo.name : null,
    });
    saveMine(mine);
    renderMine();
    bodyInput.value = "";
    dismissed = false;
    hideWarning();
    checkSeq++;
    cancelReply();
    updateCounter();
    newChallenge("image");
  }

  // --- comments ------------------------------------------------------------------------

  function commentItem(comment, options) {
    const header = el("p", { class: "comment-meta" },
      // dir=auto isolates readers' text: a name cannot reverse the line it is on.
      el("span", { class: "author", dir: "auto", text: comment.author ? comment.author.name : "" }));
    if (options.inReplyTo) {
      header.append(" ", el("span", { class: "in-reply-to" }, T.inReplyTo,
        el("span", { class: "author-ref", dir: "auto", text: options.inReplyTo })));
    }
    header.append(" ", el("time", { datetime: comment.created_at, text: formatTime(comment.created_at) }));
    if (options.pending) header.append(" ", el("span", { class: "badge pending", text: T.pending }));
    const body = el("p", { class: "comment-body", dir: "auto", text: comment.body });
    const article = el("article", { class: "comment", tabindex: "-1" }, header, body);
    if (options.reply) {
      const button = el("button", { type: "button", class: "link reply", text: T.reply,
        "aria-label": `${T.reply} ${comment.author.name}` });
      button.addEventListener("click", () => startReply(comment));
      article.append(button);
    }
    const item = el("li", { class: options.pending ? "pending" : null, "data-id": comment.id }, article);
    return item;
  }

  function threadItem(comment) {
    const item = commentItem(comment, { reply: true });
    const replies = comment.replies || [];
    if (replies.length) {
      const names = new Map([[comment.id, comment.author.name]]);
      for (const r of replies) names.set(r.id, r.author.name);
      const list = el("ol", { class: "comment-list replies" });
      for (const r of replies) {
        const parentName = r.parent_id !== comment.id ? names.get(r.parent_id) : null;
        list.append(commentItem(r, { reply: true, inReplyTo: parentName }));
      }
      item.append(list);
    }
    return item;
  }

  const countHeading = el("h3", { id: "vimod-comments-heading", text: T.comments });
  const newestButton = el("button", { type: "button", class: "order", "aria-pressed": "true",
    text: T.newest });
  const oldestButton = el("button", { type: "button", class: "order", "aria-pressed": "false",
    text: T.oldest });
  const list = el("ol", { class: "comment-list threads" });
  const emptyNote = el("p", { class: "empty", text: T.empty, hidden: true });
  const listStatus = el("p", { class: "list-status", role: "status" });
  const retryButton = el("button", { type: "button", class: "link retry", text: T.retry, hidden: true });
  const moreButton = el("button", { type: "button", class: "more", text: T.more, hidden: true });
  frame.append(el("section", { class: "comments", "aria-labelledby": "vimod-comments-heading" },
    el("div", { class: "comments-head" }, countHeading,
      el("div", { class: "order-group", role: "group", "aria-label": T.order }, newestButton, oldestButton)),
    list, emptyNote, el("div", { class: "list-foot" }, listStatus, retryButton), moreButton));

  let order = "newest";
  let page = 0;
  let pages = 0;
  let listSeq = 0;  // only the latest listing request counts (order changed meanwhile…)
  const seen = new Set();

  async function loadPage(next, focusNew) {
    const seq = ++listSeq;
    moreButton.disabled = true;
    retryButton.hidden = true;
    listStatus.textContent = T.loading;
    listStatus.className = "list-status";
    const url = `${COMMENTS_URL}?order=${order}&page=${next}&per_page=${PER_PAGE}`;
    // A reader waiting for their own comment asks past the 15 s cache (a 304 is cheap).
    const result = await call("GET", url, undefined, loadMine().length ? { cache: "no-cache" } : {});
    if (seq !== listSeq) return;
    moreButton.disabled = false;
    if (!result.ok || !result.data) {
      listStatus.textContent = result.refused ? T.originNotAllowed
        : result.error && result.error.code === "not_found" ? T.unknownSite : T.loadFailed;
      listStatus.className = "list-status error";
      retryButton.hidden = false;
      retryButton.dataset.page = String(next);
      return;
    }
    listStatus.textContent = "";
    const data = result.data;
    if (next === 1) { list.replaceChildren(); }
    page = data.page || next;
    pages = data.pages || 0;
    countHeading.textContent = T.count(data.count || 0);
    let firstNew = null;
    for (const comment of data.comments || []) {
      const item = threadItem(comment);
      if (!firstNew) firstNew = item;
      list.append(item);
      seen.add(comment.id);
      for (const r of comment.replies || []) seen.add(r.id);
    }
    emptyNote.hidden = list.children.length > 0;
    moreButton.hidden = page >= pages;
    if (focusNew && firstNew) firstNew.querySelector("article").focus();
    renderMine();
  }

  function setOrder(value) {
    if (value === order) return;
    order = value;
    newestButton.setAttribute("aria-pressed", String(order === "newest"));
    oldestButton.setAttribute("aria-pressed", String(order === "oldest"));
    loadPage(1);
  }

  newestButton.addEventListener("click", () => setOrder("newest"));
  oldestButton.addEventListener("click", () => setOrder("oldest"));
  moreButton.addEventListener("click", () => loadPage(page + 1, true));
  retryButton.addEventListener("click", () => loadPage(parseInt(retryButton.dataset.page, 10) || 1));

  // The reader's own comments stay "pending" (this tab, this article) until published.
  function renderMine() {
    const mine = loadMine().filter((c) => !seen.has(c.id));
    saveMine(mine);
    mineList.replaceChildren(...mine.map((c) => commentItem(c, { pending: true, inReplyTo: c.reply_to })));
    mineSection.hidden = mine.length === 0;
  }

  // The site's own length limit (data-max-length counts until it is known).
  async function loadSettings() {
    const result = await call("GET", `${API}/form`, undefined, { probe: false });
    const limit = result.ok && result.data && parseInt(result.data.max_length, 10);
    if (limit > 0) { maxLength = limit; updateCounter(); }
  }

  updateCounter();
  renderMine();
  loadSettings();
  newChallenge("image");
  loadPage(1);
})();
