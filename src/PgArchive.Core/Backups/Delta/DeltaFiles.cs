namespace PgArchive.Backups.Delta;

/// <summary>Which files of a delta backup are stored whole, as increments, or not at all (unchanged since the base).</summary>
internal static class DeltaFiles
{
    /// <summary>
    /// Removes the files whose modification time is the one the base recorded (WAL-G's rule) and records them
    /// as skipped in <paramref name="files"/>; directories and new or changed files stay.
    /// </summary>
    public static List<DataDirectoryEntry> LeaveOutUnchanged(List<DataDirectoryEntry> entries, DeltaBase deltaBase, FilesMetadata files, out int skipped)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(deltaBase);
        ArgumentNullException.ThrowIfNull(files);
        skipped = 0;
        if (deltaBase.Files is null)
        {
            return entries;
        }

        var kept = new List<DataDirectoryEntry>(entries.Count);
        foreach (var entry in entries)
        {
            if (!entry.IsDirectory && deltaBase.Files.Files.TryGetValue("/" + entry.TarPath, out var recorded))
            {
                DateTime modified;
                try
                {
                    modified = File.GetLastWriteTimeUtc(entry.FullPath);
                }
                catch (IOException)
                {
                    kept.Add(entry);
                    continue;
                }

                if (recorded.MTime.UtcDateTime == modified)
                {
                    files.Files["/" + entry.TarPath] = new BackupFileDescription { IsSkipped = true, MTime = modified };
                    skipped++;
                    continue;
                }
            }

            kept.Add(entry);
        }

        return kept;
    }

    /// <summary>True when <paramref name="entry"/> is a relation file the base also had: it is stored as a page increment.</summary>
    public static bool WasInBase(DeltaBase deltaBase, DataDirectoryEntry entry) =>
        !entry.IsDirectory && PageIncrement.IsPagedFile(entry.TarPath, entry.Size) && deltaBase.Files?.Files.ContainsKey("/" + entry.TarPath) == true;
}
