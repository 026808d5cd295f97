namespace PgArchive.Storage;

/// <summary>Which stores of a <see cref="FailoverObjectStore"/> a put must reach before it succeeds.</summary>
public enum FailoverWritePolicy
{
    /// <summary>
    /// Every store, in configured order: the put succeeds only when each one durably stored the object (a second
    /// repository, pgBackRest's repo1 and repo2). A store that is down fails the put, so PostgreSQL retries wal-push.
    /// </summary>
    All = 0,

    /// <summary>
    /// The first alive store, the primary first (WAL-G's failover storages): archiving continues to the next store
    /// while the primary is down; <c>catch-up</c> later fills the stores that missed objects.
    /// </summary>
    FirstAlive,
}
