import { useApi } from "../useApi";
import type { Json } from "../types";
import { listOf } from "../listOf";
import { ErrorLine } from "../components/ErrorLine";
import { Table } from "../components/Table";

/** Gate failures, promotions, drift flags and notifications, newest first. */
export function EventsPage() {
  const events = useApi<Json>("/api/events");
  const rows = listOf(events.data);
  return (
    <div className="page">
      <h1>Events</h1>
      <ErrorLine error={events.error} />
      {events.data !== null && rows.length === 0 ? <p className="empty">No event yet.</p> : <Table rows={rows} label="Events" />}
    </div>
  );
}
