/* Client-side checks of the deposit form's Darwin Core fields, mirroring the server's rules
 * (specimen_rdm_specimens.quality_flags): numbers and their ranges, ISO 8601 dates, partial
 * dates, datetimes and intervals, two-letter country codes. The server decides; these checks
 * only tell the depositor before saving. A message appears under the field and clears once the
 * value is acceptable. */
(function () {
  "use strict";
  var isoInstant =
    "\\d{4}(-\\d{1,2}(-\\d{1,2}([T ]\\d{1,2}:\\d{2}(:\\d{2}([.,]\\d+)?)?(Z|[+-]\\d{2}(:?\\d{2})?)?)?)?)?";
  var isoDate = new RegExp(
    "^" + isoInstant + "(/(" + isoInstant + "|\\d{1,2}(-\\d{1,2})?))?$"
  );
  function number(low, high) {
    return function (value) {
      var parsed = Number(value);
      if (value.trim() === "" || isNaN(parsed)) return "Enter a number.";
      if ((low !== null && parsed < low) || (high !== null && parsed > high)) {
        return "Enter a number from " + (low === null ? "-∞" : low) + " to " + (high === null ? "∞" : high) + ".";
      }
      return "";
    };
  }
  function date(value) {
    return isoDate.test(value.trim())
      ? ""
      : "Enter an ISO 8601 date: 1931-06-27, 1931-06, 1931 or an interval 1931-06-27/1931-07-02.";
  }
  var checks = {
    "custom_fields.dwc:decimalLatitude": number(-90, 90),
    "custom_fields.dwc:decimalLongitude": number(-180, 180),
    "custom_fields.dwc:coordinateUncertaintyInMeters": number(0, null),
    "custom_fields.dwc:minimumElevationInMeters": number(-11000, 17000),
    "custom_fields.dwc:maximumElevationInMeters": number(-11000, 17000),
    "custom_fields.dwc:eventDate": date,
    "custom_fields.dwc:dateIdentified": date,
    "custom_fields.dwc:countryCode": function (value) {
      return /^[A-Za-z]{2}$/.test(value.trim()) ? "" : "Enter a two-letter ISO 3166-1 code, e.g. TR.";
    },
  };
  function show(input) {
    var check = checks[input.name];
    if (!check) return;
    var field = input.closest(".field") || input.parentNode;
    var message = input.value === "" ? "" : check(input.value);
    var label = field.querySelector(".specimen-check");
    if (!message) {
      if (label) label.remove();
      field.classList.remove("error");
      return;
    }
    if (!label) {
      label = document.createElement("div");
      label.className = "ui pointing red basic label specimen-check";
      label.setAttribute("role", "alert");
      field.appendChild(label);
    }
    label.textContent = message;
    field.classList.add("error");
  }
  ["input", "change", "focusout"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      if (event.target && event.target.name in checks) show(event.target);
    });
  });
})();
