using PgArchive.Storage;

namespace PgArchive.Retention;

/// <summary>What a delete would do, computed before anything is deleted: show it (dry run) or execute it.</summary>
public sealed class RetentionPlan
{
    internal RetentionPlan(RetentionRequest request, string? target, IReadOnlyList<BackupDecision> backups, IReadOnlyList<ObjectInfo> objectsToDelete,
        IReadOnlyList<WalRetention> wal, IReadOnlyList<string> notes)
    {
        Request = request;
        Target = target;
        Backups = backups;
        ObjectsToDelete = objectsToDelete;
        Wal = wal;
        Notes = notes;
    }

    /// <summary>What was asked.</summary>
    public RetentionRequest Request { get; }

    /// <summary>The backup the request pointed at (the oldest kept for retain/before, the one deleted for target); null when none.</summary>
    public string? Target { get; }

    /// <summary>Every complete backup, in retention order (oldest first), with what happens to it and why.</summary>
    public IReadOnlyList<BackupDecision> Backups { get; }

    /// <summary>
    /// Every object that would be deleted, in the order it is deleted: sentinels first (a backup stops being listed
    /// before its parts go), then the backups' other objects, leftovers of unfinished backups, then WAL, oldest first.
    /// </summary>
    public IReadOnlyList<ObjectInfo> ObjectsToDelete { get; }

    /// <summary>Per timeline, which archived WAL is kept and which is deleted.</summary>
    public IReadOnlyList<WalRetention> Wal { get; }

    /// <summary>Remarks worth showing (nothing to delete, WAL left alone and why, ...).</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>The backups that would be deleted.</summary>
    public IEnumerable<string> BackupsToDelete => Backups.Where(b => b.Delete).Select(b => b.Name);

    /// <summary>The backups that would be kept.</summary>
    public IEnumerable<string> BackupsToKeep => Backups.Where(b => !b.Delete).Select(b => b.Name);

    /// <summary>Bytes stored in the objects that would be deleted.</summary>
    public long BytesToDelete => ObjectsToDelete.Sum(o => o.Size);
}

/// <summary>What a delete does with one backup.</summary>
/// <param name="Name">The backup.</param>
/// <param name="Delete">True when it is deleted.</param>
/// <param name="IsPermanent">Its permanent flag.</param>
/// <param name="Reason">Why it is kept or deleted, e.g. <c>one of the newest 2 backups</c>.</param>
public sealed record BackupDecision(string Name, bool Delete, bool IsPermanent, string Reason);

/// <summary>The WAL of one timeline under a plan.</summary>
/// <param name="Timeline">The timeline.</param>
/// <param name="KeptSegments">Segments kept.</param>
/// <param name="DeletedSegments">Segments deleted.</param>
/// <param name="FirstKept">The oldest segment kept, or null.</param>
/// <param name="LastKept">The newest segment kept, or null.</param>
public sealed record WalRetention(uint Timeline, int KeptSegments, int DeletedSegments, string? FirstKept, string? LastKept);
