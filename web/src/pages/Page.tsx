import { useRoute } from "../router";
import { Designer } from "./Designer";
import { RunPage } from "./RunPage";
import { RunsPage } from "./RunsPage";
import { ModelsPage } from "./ModelsPage";
import { ModelVersionPage } from "./ModelVersionPage";
import { DatasetsPage } from "./DatasetsPage";
import { EventsPage } from "./EventsPage";
import { DiffPage } from "./DiffPage";
import { DatasetVersionPage } from "./DatasetVersionPage";
import { EndpointsPage } from "./EndpointsPage";
import { PipelinesPage } from "./PipelinesPage";
import { PipelinePage } from "./PipelinePage";

/** The page the route names. */
export function Page() {
  const route = useRoute();
  const parts = route.split("/").filter(Boolean).map(decodeURIComponent);
  const [section, a, b, c, d] = parts;
  if (section === "runs" && a) return <RunPage runId={a} />;
  if (section === "runs") return <RunsPage />;
  if (section === "models" && a && b === "versions" && c) return <ModelVersionPage name={a} version={c} />;
  if (section === "models" && a && b === "diff" && c && d) return <DiffPage name={a} a={c} b={d} />;
  if (section === "models") return <ModelsPage />;
  if (section === "datasets" && a && b === "versions" && c) return <DatasetVersionPage name={a} version={c} />;
  if (section === "datasets") return <DatasetsPage />;
  if (section === "endpoints") return <EndpointsPage />;
  if (section === "events") return <EventsPage />;
  if (section === "pipelines" && a) return <PipelinePage name={a} />;
  if (section === "pipelines") return <PipelinesPage />;
  if (section === "designer" && a && b) return <Designer key={`${a}/${b}`} open={{ name: a, version: b }} />;
  return <Designer />;
}
