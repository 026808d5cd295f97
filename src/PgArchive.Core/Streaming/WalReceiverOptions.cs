namespace PgArchive.Streaming;

/// <summary>Settings of <see cref="WalReceiver"/> (<c>wal-receive</c>), bindable from configuration (e.g. <c>PgArchive:WalReceiver</c>).</summary>
public sealed class WalReceiverOptions
{
    /// <summary>
    /// Libpq-style connection string of the server to stream from (Npgsql's keywords: Host, Port, Username, Password,
    /// SSL Mode, Root Certificate, ...); what it leaves out comes from libpq's environment (<c>PGHOST</c>, <c>PGPORT</c>,
    /// <c>PGUSER</c>, <c>PGPASSWORD</c>, <c>PGPASSFILE</c>, <c>PGSSLMODE</c>). The role needs the REPLICATION attribute.
    /// <value>Default empty: everything from the environment.</value>
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// The physical replication slot to stream through (WAL-G's <c>WALG_SLOTNAME</c>). The server keeps every WAL byte the
    /// slot has not seen reported as stored, across restarts of the receiver and outages of the store. Null streams
    /// without a slot: WAL the server recycles while the receiver is away is then missing from the archive.
    /// <value>Default <c>walg</c>, as WAL-G.</value>
    /// </summary>
    public string? SlotName { get; set; } = "walg";

    /// <summary>Create <see cref="SlotName"/> (reserving WAL at once) when the server has no slot of that name; otherwise a missing slot is an error.</summary>
    public bool CreateSlot { get; set; }

    /// <summary>
    /// The <c>application_name</c> the receiver connects with: name it in the server's <c>synchronous_standby_names</c> for
    /// <see cref="Synchronous"/> mode. <value>Default <c>pgarchive</c>.</value>
    /// </summary>
    public string ApplicationName { get; set; } = "pgarchive";

    /// <summary>
    /// How long WAL received for the segment in progress may wait before it is stored as the segment's <c>.partial</c>
    /// object (the bound on what a crash of the server can lose, without <see cref="Synchronous"/>).
    /// <value>Default 1 s.</value>
    /// </summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Store the segment in progress also whenever this many bytes arrived since it was last stored; 0 turns it off. <value>Default 0.</value></summary>
    public long FlushBytes { get; set; }

    /// <summary>
    /// Store every batch of WAL as soon as it arrives and report it flushed right after the store acknowledged it: with
    /// the server's <c>synchronous_standby_names</c> naming <see cref="ApplicationName"/> (and <c>synchronous_commit</c>
    /// <c>on</c> or <c>remote_write</c>), a commit returns only once its WAL is in the archive.
    /// </summary>
    public bool Synchronous { get; set; }

    /// <summary>How often a status update is sent when nothing else prompts one. <value>Default 10 s (PostgreSQL's <c>wal_receiver_status_interval</c>).</value></summary>
    public TimeSpan StatusInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The connection is given up as dead when the server sent nothing for this long. <value>Default 60 s (<c>wal_receiver_timeout</c>).</value></summary>
    public TimeSpan ReceiveTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Wait before reconnecting after the connection or the store failed. <value>Default 5 s.</value></summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(5);
}
