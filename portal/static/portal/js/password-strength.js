// A strength meter under every password field marked data-strength-meter.
// zxcvbn estimates how many guesses an attacker needs; the server still decides.
(function () {
  "use strict";
  var labels = ["Very weak", "Weak", "Fair", "Strong", "Very strong"];
  var inputs = document.querySelectorAll("input[data-strength-meter]");
  Array.prototype.forEach.call(inputs, function (input) {
    var box = document.createElement("div");
    box.className = "portal-strength";
    box.id = input.id + "-strength";
    var meter = document.createElement("meter");
    meter.min = 0; meter.max = 4; meter.low = 2; meter.high = 3; meter.optimum = 4; meter.value = 0;
    meter.setAttribute("aria-hidden", "true");
    var text = document.createElement("p");
    text.className = "usa-hint margin-top-05";
    text.setAttribute("aria-live", "polite");
    box.appendChild(meter);
    box.appendChild(text);
    input.parentNode.insertBefore(box, input.nextSibling);
    var described = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", (described ? described + " " : "") + box.id);

    function update() {
      var value = input.value;
      if (!value) { meter.value = 0; text.textContent = ""; return; }
      var length = Array.from(value.normalize("NFKC")).length;
      var username = document.querySelector("input[name=username]");
      var result = window.zxcvbn(value, username && username.value ? [username.value] : []);
      meter.value = result.score;
      var message = "Strength: " + labels[result.score] + ".";
      var name = username ? username.value.normalize("NFKC").trim().toLowerCase() : "";
      if (name && value.normalize("NFKC").toLowerCase().indexOf(name) !== -1) {
        message += " It cannot contain your username.";
      } else if (length < 12) {
        message += " Use at least 12 characters (" + length + " so far).";
      } else if (length > 128) {
        message += " Use at most 128 characters (" + length + " now).";
      } else if (result.feedback.warning) {
        message += " " + result.feedback.warning + ".";
      }
      text.textContent = message;
    }
    input.addEventListener("input", update);
    update();
  });
}());
