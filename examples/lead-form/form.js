// Progressive enhancement of the lead form: without this file the form still posts (multipart) and
// the API answers with a redirect or a page. With it, the form posts JSON with fetch, shows each field
// error next to its field (from the API's 400 {"errors": [{field, message}]}), and retries a 503 after
// its Retry-After, with the same Idempotency-Key so a retried post is never counted twice.
(function () {
  "use strict";
  var form = document.getElementById("lead-form");
  if (!form || !window.fetch || !window.JSON) { return; }

  var summary = document.getElementById("form-errors");
  var status = document.getElementById("form-status");
  var thanks = document.getElementById("thanks");
  var button = form.querySelector("button[type=submit]");
  var MAX_RETRIES = 3;
  var submissionKey = newKey();

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    return "k-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  // Context a person should not have to type: the page, the campaign, the time zone.
  var params = new URLSearchParams(window.location.search);
  ["utm_source", "utm_medium", "utm_campaign"].forEach(function (name) {
    if (params.get(name) && form.elements[name]) { form.elements[name].value = params.get(name); }
  });
  form.elements.source_page.value = window.location.href;
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && !form.elements.time_zone.value) { form.elements.time_zone.value = zone; }
  } catch (e) { /* an old browser: the field stays empty */ }
  var lang = (navigator.language || "en").slice(0, 2).toLowerCase();
  if (form.elements.locale.querySelector('option[value="' + lang + '"]')) { form.elements.locale.value = lang; }

  form.setAttribute("novalidate", "");  // we show our own messages, in place and in the summary

  function errorSlot(field) { return document.getElementById(field + "-error"); }

  function clearErrors() {
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (el) {
      el.removeAttribute("aria-invalid");
    });
    Array.prototype.forEach.call(form.querySelectorAll(".error"), function (el) {
      el.textContent = ""; el.hidden = true;
    });
    summary.hidden = true;
    summary.querySelector("ul").innerHTML = "";
  }

  function labelOf(field) {
    var input = form.elements[field];
    var label = input && input.id ? form.querySelector('label[for="' + input.id + '"]') : null;
    return label ? label.textContent.replace("*", "").trim() : field;
  }

  function showErrors(errors) {
    var list = summary.querySelector("ul");
    errors.forEach(function (error) {
      var input = form.elements[error.field];
      var slot = errorSlot(error.field);
      var item = document.createElement("li");
      if (input && slot && input.type !== "hidden") {
        input.setAttribute("aria-invalid", "true");
        // `text` is the server's wording for a visitor, in the form's language; `message` is for programs.
        var said = error.text || (labelOf(error.field) + " " + error.message);
        slot.textContent = said;
        slot.hidden = false;
        var link = document.createElement("a");
        link.href = "#" + input.id;
        link.textContent = said;
        item.appendChild(link);
      } else {
        item.textContent = error.text
          || (error.field && error.field !== "body" ? error.field + " " : "") + error.message;
      }
      list.appendChild(item);
    });
    summary.hidden = false;
    summary.focus();
  }

  function checkLocally() {
    var errors = [];
    var email = form.elements.email;
    // The same words the server uses (crm_core/leads/strings.yaml), for the same problems.
    if (!email.value.trim()) {
      errors.push({ field: "email", text: "Enter your email address, so that we can answer you." });
    } else if (email.validity && email.validity.typeMismatch) {
      errors.push({ field: "email", text: "Enter an email address like name@example.com." });
    }
    var day = form.elements.birthday_day.value, month = form.elements.birthday_month.value;
    var year = form.elements.birthday_year;
    if ((day || month || year.value) && !(day && month)) {
      errors.push({ field: "birthday", text: "Birthday: choose a day and a month (the year is optional)." });
    } else if (year.value && year.validity && year.validity.patternMismatch) {
      errors.push({ field: "birthday", text: "Birthday: enter a year between 1900 and this year." });
    }
    return errors;
  }

  function fields() {
    var data = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled) { return; }
      if (el.type === "checkbox") {
        if (el.checked) { data[el.name] = true; }  // unticked: the post says nothing about consent
      } else if (el.value !== "" || el.name === "website") {
        data[el.name] = el.value;
      }
    });
    return data;
  }

  function wait(seconds) { return new Promise(function (resolve) { setTimeout(resolve, seconds * 1000); }); }

  function send(body, attempt) {
    return fetch(form.getAttribute("action"), {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "Idempotency-Key": submissionKey },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (response.status === 503 && attempt < MAX_RETRIES) {
        var after = parseInt(response.headers.get("Retry-After") || "2", 10);
        status.textContent = "Busy for a moment, trying again…";
        return wait(isNaN(after) ? 2 : after).then(function () { return send(body, attempt + 1); });
      }
      return response;
    }, function () {
      if (attempt < MAX_RETRIES) {
        status.textContent = "Connection lost, trying again…";
        return wait(2).then(function () { return send(body, attempt + 1); });
      }
      throw new Error("network");
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearErrors();
    var local = checkLocally();
    if (local.length) { showErrors(local); return; }
    button.disabled = true;
    status.textContent = "Sending…";
    send(fields(), 0).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (response.status === 200 || response.status === 201) {
          form.hidden = true;
          thanks.hidden = false;
          thanks.setAttribute("data-contact-id", answer.contact_id || "");
          status.textContent = "";
          thanks.focus();
          return;
        }
        status.textContent = "";
        showErrors(answer.errors && answer.errors.length ? answer.errors
          : [{ field: "", message: "Something went wrong (" + response.status + "). Please try again." }]);
      });
    }).catch(function () {
      status.textContent = "";
      showErrors([{ field: "", message: "We could not reach the server. Your details are still here: please send again." }]);
    }).then(function () { button.disabled = false; });
  });
})();
