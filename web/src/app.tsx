import { type Route, useRoute } from "./hooks.ts";
import { signOut, useAuth } from "./token.ts";
import { JobView } from "./views/job.tsx";
import { JobsView } from "./views/jobs.tsx";
import { QueueView } from "./views/queue.tsx";
import { SignIn } from "./views/sign-in.tsx";
import { WorkersView } from "./views/workers.tsx";

const NAV: { view: Route["view"]; href: string; label: string }[] = [
  { view: "jobs", href: "#/jobs", label: "Jobs" },
  { view: "workers", href: "#/workers", label: "Workers" },
  { view: "queue", href: "#/queue", label: "Queue" },
];

/** The page: a header with the views, and the current view — or the sign-in prompt alone. */
export function App() {
  const route = useRoute();
  const auth = useAuth();
  const current = route.view === "job" ? "jobs" : route.view;
  return (
    <>
      <header class="top">
        <a class="brand" href="#/jobs">
          Troupe
        </a>
        {!auth.needed && (
          <nav aria-label="views">
            {NAV.map((item) => (
              <a
                key={item.view}
                href={item.href}
                aria-current={current === item.view ? "page" : undefined}
              >
                {item.label}
              </a>
            ))}
          </nav>
        )}
        {auth.token && (
          <button type="button" class="link" onClick={signOut}>
            Sign out
          </button>
        )}
      </header>
      <main>{auth.needed ? <SignIn refused={auth.refused} /> : <View route={route} />}</main>
    </>
  );
}

function View({ route }: { route: Route }) {
  switch (route.view) {
    case "job":
      return <JobView key={route.jobId} jobId={route.jobId} />;
    case "workers":
      return <WorkersView />;
    case "queue":
      return <QueueView />;
    default:
      return <JobsView />;
  }
}
