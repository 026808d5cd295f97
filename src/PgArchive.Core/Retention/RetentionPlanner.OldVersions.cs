using System.Globalization;
using PgArchive.Storage;

namespace PgArchive.Retention;

/// <summary>WAL-E's <c>delete old-versions</c>.</summary>
public sealed partial class RetentionPlanner
{
    /// <summary>The layout versions WAL-E 1.x called obsolete (wal_e/storage/base.py, OBSOLETE_VERSIONS); 005 is current.</summary>
    private static readonly string[] ObsoleteVersions = ["000", "001", "002", "003", "004"];

    /// <summary>Every object under <c>basebackups_00N/</c> and <c>wal_00N/</c> of an obsolete version; no backup of the current layout is touched.</summary>
    private async Task<RetentionPlan> PlanOldVersionsAsync(RetentionRequest request, CancellationToken cancellationToken)
    {
        var objects = new List<ObjectInfo>();
        foreach (var version in ObsoleteVersions)
        {
            foreach (var prefix in new[] { "basebackups_" + version + "/", "wal_" + version + "/" })
            {
                await foreach (var info in _store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
                {
                    objects.Add(info);
                }
            }
        }

        var notes = new List<string>
        {
            objects.Count == 0
                ? "No object of an older WAL-E layout (basebackups_000/ to _004/, wal_000/ to _004/): nothing to delete."
                : string.Create(CultureInfo.InvariantCulture, $"{objects.Count} objects of older WAL-E layouts; {ArchiveLayout.BaseBackupsPrefix} and {ArchiveLayout.WalPrefix} are not touched."),
        };
        return new RetentionPlan(request, null, [], objects, [], notes);
    }
}
