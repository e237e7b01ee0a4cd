// The form_post answer: send the fields on to the app's redirect URI at once
// (the page's Continue button does the same without JavaScript).
document.getElementById("form-post").submit();
