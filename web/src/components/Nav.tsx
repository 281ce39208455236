import { request } from "../api";
import { useRoute } from "../router";

const LINKS: [string, string][] = [
  ["/designer", "Designer"],
  ["/pipelines", "Pipelines"],
  ["/runs", "Runs"],
  ["/models", "Models"],
  ["/datasets", "Datasets"],
  ["/endpoints", "Endpoints"],
  ["/events", "Events"],
];

/** The top bar: the pages and sign-out. */
export function Nav({ onSignedOut }: { onSignedOut: () => void }) {
  const route = useRoute();
  const signOut = () => {
    request("DELETE", "/api/session").finally(onSignedOut);
  };
  return (
    <nav className="nav" aria-label="Pages">
      <strong className="brand">podium</strong>
      {LINKS.map(([path, label]) => (
        <a key={path} href={`#${path}`} aria-current={route.startsWith(path) ? "page" : undefined}>
          {label}
        </a>
      ))}
      <span className="spacer" />
      <button type="button" onClick={signOut}>
        Sign out
      </button>
    </nav>
  );
}
