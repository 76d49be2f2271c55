// Bastion admin console: the little behaviour pages need, loaded as a module from 'self' (the CSP
// forbids inline script). Every page works without it; it only saves reloads.

// Export progress: a <progress data-status-url> is refreshed every second from the console's JSON
// status endpoint (status, progress, percent written in the page's language, finished). The
// status words come from the page itself (data-running / data-done / data-failed), so this file
// holds no text. When the job finishes the page reloads, showing the download and the manifest.
const POLL_MS = 1000;

function watchExport(bar) {
  const url = bar.dataset.statusUrl;
  const status = document.getElementById("export-status");
  const percent = document.getElementById("export-percent");

  async function poll() {
    let body;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      const type = response.headers.get("content-type") || "";
      if (!response.ok || !type.includes("application/json")) {
        return; // signed out or refused: stop; a reload shows why
      }
      body = await response.json();
    } catch {
      setTimeout(poll, POLL_MS); // the network blinked: try again
      return;
    }
    bar.value = body.progress;
    bar.textContent = body.percent;
    if (percent) percent.textContent = body.percent;
    if (status) status.textContent = status.dataset[body.status] || body.status;
    if (body.finished) {
      window.location.reload();
    } else {
      setTimeout(poll, POLL_MS);
    }
  }

  setTimeout(poll, POLL_MS);
}

for (const bar of document.querySelectorAll("progress[data-status-url]")) {
  watchExport(bar);
}
