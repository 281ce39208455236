import { useEffect, useState } from "react";
import { errorText, get, setCsrf, setUnauthorizedHandler } from "./api";
import { Nav } from "./components/Nav";
import { SignIn } from "./pages/SignIn";
import { Page } from "./pages/Page";

type Session = "checking" | "signed-out" | "signed-in";

/** The console: the sign-in form until there is a session, then the pages. */
export function App() {
  const [session, setSession] = useState<Session>("checking");
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setUnauthorizedHandler(() => setSession("signed-out"));
    get<{ csrf: string }>("/api/session").then(
      (s) => {
        setCsrf(s.csrf);
        setSession("signed-in");
      },
      (e: unknown) => {
        setSession("signed-out");
        if (!(e instanceof Error && "status" in e && e.status === 401)) setError(errorText(e));
      },
    );
  }, []);
  if (session === "checking") return <p className="empty">Loading…</p>;
  if (session === "signed-out") return <SignIn initialError={error} onSignedIn={() => setSession("signed-in")} />;
  return (
    <div className="app">
      <Nav onSignedOut={() => setSession("signed-out")} />
      <main>
        <Page />
      </main>
    </div>
  );
}
