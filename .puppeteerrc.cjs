// Never download a browser at install time: tests drive Debian's /usr/bin/chromium.
module.exports = { skipDownload: true };
