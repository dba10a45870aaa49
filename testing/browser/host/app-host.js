// The host app: the React snippet of docs/dashboard.md § Embedding without JSX. It owns sign-in
// (the Appwrite client is its own) and routes /app/jobs/* to the component that mounts Job
// Manager; it also subscribes with the official Web SDK's `client.subscribe`, which the test
// uses to check the dev server's Realtime endpoint against the real client.
const { createElement: h, useEffect, useRef } = window.React;

const client = new window.Appwrite.Client().setEndpoint(`${location.origin}/v1`).setProject("jobmanager");
window.__sdkEvents = [];
client.subscribe("tablesdb.jobmanager.tables.jobs.rows", (event) => window.__sdkEvents.push(event));
window.__hostLoadedAt = Date.now();

function JobsPage({ client }) {
  const ref = useRef(null);
  useEffect(() => {
    let jobs = null;
    let cancelled = false;
    import("/assets/mount.js").then(({ mount }) => {
      if (!cancelled) jobs = mount(ref.current, { client, basePath: "/app/jobs", signIn: false });
    });
    return () => {
      cancelled = true;
      if (jobs) jobs.unmount();
    };
  }, [client]);
  return h("div", { ref, className: "host-jobs" });
}

function App() {
  return h(
    "div",
    null,
    h("nav", { className: "host-nav" }, h("strong", null, "Pivotr Mailer"), h("a", { href: "/app/campaigns" }, "Campaigns"), h("a", { href: "/app/jobs" }, "Jobs")),
    h("div", { className: "host-layout" }, h("aside", { className: "host-side" }, "Host sidebar"), h(JobsPage, { client })),
  );
}

window.ReactDOM.createRoot(document.getElementById("root")).render(h(App));
