namespace PgArchive.Daemon;

/// <summary>The first byte of a message of WAL-G's daemon protocol (its <c>internal/daemon</c>), requests and replies alike.</summary>
internal enum DaemonMessageType : byte
{
    /// <summary>Request: is the daemon there? Answered <see cref="Ok"/>; the connection stays open for another request.</summary>
    Check = (byte)'C',

    /// <summary>Request: archive one WAL file; the body is its path, raw (WAL-G's client sends one argument unframed).</summary>
    WalPush = (byte)'F',

    /// <summary>Request: fetch one WAL file; the body is two framed arguments, the file's name and the destination path.</summary>
    WalFetch = (byte)'f',

    /// <summary>Reply: done (for a push: durably stored).</summary>
    Ok = (byte)'O',

    /// <summary>Reply: failed; the daemon's log says why.</summary>
    Error = (byte)'E',

    /// <summary>Reply to a fetch: the archive does not hold the file.</summary>
    ArchiveNonExistence = (byte)'N',
}
