import { useState, type FormEvent } from "react";
import { errorText, post, setCsrf } from "../api";
import { ErrorLine } from "../components/ErrorLine";

/** The sign-in form: an API key with the admin right opens a session. */
export function SignIn({ initialError, onSignedIn }: { initialError: string | null; onSignedIn: () => void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(initialError);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    post<{ csrf: string }>("/api/session", { key }).then(
      (s) => {
        setCsrf(s.csrf);
        onSignedIn();
      },
      (err: unknown) => setError(errorText(err)),
    );
  };
  return (
    <form className="signin" onSubmit={submit}>
      <h1>Sign in to podium</h1>
      <p>Use an API key with the admin right (<code>podium keys create --name me --admin</code>).</p>
      <label>
        API key
        <input type="password" value={key} onChange={(e) => setKey(e.target.value)} autoFocus required />
      </label>
      <button type="submit">Sign in</button>
      <ErrorLine error={error} />
    </form>
  );
}
