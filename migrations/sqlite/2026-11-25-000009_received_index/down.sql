DROP INDEX received_activities_at;
