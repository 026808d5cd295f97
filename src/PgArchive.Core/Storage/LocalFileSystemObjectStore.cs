using System.IO.Enumeration;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using PgArchive.IO;

namespace PgArchive.Storage;

/// <summary>
/// Stores objects as files under a root directory (WAL-G's <c>WALG_FILE_PREFIX</c>). Writes are atomic and
/// durable: content goes to a temporary file in the target directory, is fsynced, renamed into place and the
/// directory is fsynced, so a crash leaves either the whole object or none (a stray temporary file at most,
/// which listings ignore). Symbolic links below the root are never followed: listings skip them at any depth, and
/// reading, writing, deleting or describing a key whose path passes through one is refused, so nothing outside the
/// root is ever touched through the store. The root itself may be a link.
/// </summary>
public sealed class LocalFileSystemObjectStore : IObjectStore, IObjectCopier
{
    private const string TempMarker = ".pgarchive-tmp-";
    private const int BufferSize = 1 << 20;
    private readonly string _root;

    /// <summary>Creates a store rooted at <paramref name="rootPath"/>.</summary>
    public LocalFileSystemObjectStore(string rootPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rootPath);
        _root = Path.GetFullPath(rootPath);
    }

    /// <summary>Creates a store from options.</summary>
    public LocalFileSystemObjectStore(IOptions<LocalFileSystemObjectStoreOptions> options)
        : this((options ?? throw new ArgumentNullException(nameof(options))).Value.RootPath)
    {
    }

    /// <summary>The absolute root directory.</summary>
    public string RootPath => _root;

    /// <inheritdoc />
    public async Task PutAsync(string key, Stream content, PutMode mode = PutMode.Overwrite, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(key);
        ArgumentNullException.ThrowIfNull(content);
        var path = PathOf(key);
        RefuseLinks(key);
        var directory = Path.GetDirectoryName(path)!;
        var temp = Path.Combine(directory, "." + Path.GetFileName(path) + TempMarker + Guid.NewGuid().ToString("N"));
        try
        {
            Guard(key, () => Durability.CreateDirectoryDurably(directory));
            await GuardAsync(key, async () =>
            {
                var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous);
                await using (file.ConfigureAwait(false))
                {
                    await content.CopyToAsync(file, BufferSize, cancellationToken).ConfigureAwait(false);
                    await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                    file.Flush(flushToDisk: true);
                }
            }).ConfigureAwait(false);

            if (mode == PutMode.CreateNew)
            {
                // link(2) fails if the name exists: atomic create-if-absent (the temporary name is removed below)
                if (!Guard(key, () => Durability.TryCreateLink(temp, path)))
                {
                    throw ObjectStoreException.AlreadyExists(key);
                }
            }
            else
            {
                Guard(key, () => File.Move(temp, path, overwrite: true));
            }

            Guard(key, () => Durability.FlushDirectory(directory));
        }
        finally
        {
            TryDelete(temp);
        }
    }

    /// <inheritdoc />
    public Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(key);
        cancellationToken.ThrowIfCancellationRequested();
        var path = PathOf(key);
        RefuseLinks(key);
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, BufferSize,
                FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw ObjectStoreException.NotFound(key, ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw AccessDenied(key, ex);
        }

        if (range is not { } r)
        {
            return Task.FromResult<Stream>(file);
        }

        file.Seek(Math.Min(r.Offset, file.Length), SeekOrigin.Begin);
        return Task.FromResult<Stream>(new SubReadStream(file, r.Length ?? long.MaxValue));
    }

    /// <inheritdoc />
    public Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(key);
        cancellationToken.ThrowIfCancellationRequested();
        RefuseLinks(key);
        var info = new FileInfo(PathOf(key));
        return Task.FromResult(info.Exists ? ToObjectInfo(key, info) : null);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ObjectKey.ValidatePrefix(prefix);
        await Task.Yield();
        var slash = prefix.LastIndexOf('/');
        var directory = slash < 0 ? _root : Path.Combine(_root, prefix[..slash]);
        if (File.Exists(_root))
        {
            throw new ObjectStoreException(ObjectStoreErrorKind.ContainerNotFound, null,
                $"The archive root '{_root}' is a file, not a directory: point the prefix at a directory.");
        }

        if (slash >= 0 && FirstLinkBelowRoot(prefix[..slash]) is not null)
        {
            yield break; // under a symbolic link: not part of the store
        }

        if (!Directory.Exists(directory))
        {
            yield break;
        }

        var found = new List<ObjectInfo>();
        var top = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        var namePrefix = prefix[(slash + 1)..];
        Guard(prefix, () =>
        {
            // Names are matched before anything else is looked at, so listing one object's name (a WAL segment among
            // thousands) stats only what matches. Below the top directory, a subdirectory is entered only when its
            // name starts with the prefix's last segment, and then all of it matches. Symbolic links (files, and
            // directories not recursed into) are skipped: hidden files are objects too.
            var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false, AttributesToSkip = 0 };
            var files = new FileSystemEnumerable<FileInfo>(top, (ref FileSystemEntry entry) => (FileInfo)entry.ToFileSystemInfo(), options)
            {
                ShouldIncludePredicate = (ref FileSystemEntry entry) =>
                    (!entry.Directory.SequenceEqual(top) || entry.FileName.StartsWith(namePrefix, StringComparison.Ordinal))
                    && !entry.FileName.Contains(TempMarker, StringComparison.Ordinal)
                    && !entry.IsDirectory && (entry.Attributes & FileAttributes.ReparsePoint) == 0,
                ShouldRecursePredicate = (ref FileSystemEntry entry) =>
                    (!entry.Directory.SequenceEqual(top) || entry.FileName.StartsWith(namePrefix, StringComparison.Ordinal))
                    && (entry.Attributes & FileAttributes.ReparsePoint) == 0,
            };
            foreach (var file in files)
            {
                var key = Path.GetRelativePath(_root, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
                if (key.StartsWith(prefix, StringComparison.Ordinal))
                {
                    found.Add(ToObjectInfo(key, file));
                }
            }
        });

        found.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var info in found)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return info;
        }
    }

    /// <inheritdoc />
    public Task DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var directories = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ObjectKey.Validate(key);
            var path = PathOf(key);
            RefuseLinks(key);
            Guard(key, () =>
            {
                try
                {
                    File.Delete(path);
                }
                catch (DirectoryNotFoundException)
                {
                    // never stored (e.g. the authentication record of an object written without one): nothing to delete
                }
            });
            directories.Add(Path.GetDirectoryName(path)!);
        }

        foreach (var directory in directories.Where(Directory.Exists))
        {
            Guard(directory, () => Durability.FlushDirectory(directory));
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public bool CanCopy => true;

    /// <inheritdoc />
    /// <remarks>Copies into a temporary file beside the destination, fsyncs it, renames it into place and fsyncs the directory, as <see cref="PutAsync"/> does.</remarks>
    public async Task CopyAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(sourceKey);
        var source = await OpenReadAsync(sourceKey, null, cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            await PutAsync(destinationKey, source, PutMode.Overwrite, cancellationToken).ConfigureAwait(false);
        }
    }

    private string PathOf(string key) => Path.Combine(_root, key.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>Refuses <paramref name="key"/> when its path below the root passes through a symbolic link (the object itself included).</summary>
    private void RefuseLinks(string key)
    {
        if (FirstLinkBelowRoot(key) is { } link)
        {
            throw new ObjectStoreException(ObjectStoreErrorKind.Other, key,
                $"'{key}' passes through the symbolic link '{link}' under the archive root '{_root}': the local store never follows links below its root. " +
                "Replace the link with the directory or file itself, or point the prefix at the link's target.");
        }
    }

    /// <summary>The first path of <paramref name="key"/>'s segments below the root that is a symbolic link, or null (also when a segment does not exist).</summary>
    private string? FirstLinkBelowRoot(string key)
    {
        var path = _root;
        foreach (var segment in key.Split('/'))
        {
            path = Path.Combine(path, segment);
            var entry = new FileInfo(path);
            if (entry.LinkTarget is not null)
            {
                return path;
            }

            if (!entry.Exists && !Directory.Exists(path))
            {
                return null; // nothing below a missing segment exists
            }
        }

        return null;
    }

    private static ObjectInfo ToObjectInfo(string key, FileInfo file) =>
        new(key, file.Length, new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero));

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private ObjectStoreException AccessDenied(string key, Exception ex) =>
        new(ObjectStoreErrorKind.AccessDenied, key,
            $"Permission denied for '{key}' under '{_root}': the user running pgarchive needs read and write access to that directory.", ex);

    private T Guard<T>(string key, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception ex) when (Translate(key, ex) is { } translated)
        {
            throw translated;
        }
    }

    private void Guard(string key, Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex) when (Translate(key, ex) is { } translated)
        {
            throw translated;
        }
    }

    private async Task GuardAsync(string key, Func<Task> action)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (Exception ex) when (Translate(key, ex) is { } translated)
        {
            throw translated;
        }
    }

    private ObjectStoreException? Translate(string key, Exception ex) => ex switch
    {
        ObjectStoreException => null,
        UnauthorizedAccessException => AccessDenied(key, ex),
        IOException io when io.HResult == 28 || io.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase) =>
            new ObjectStoreException(ObjectStoreErrorKind.Other, key, $"No space left on the device holding '{_root}' while writing '{key}'.", ex),
        IOException when File.Exists(_root) =>
            new ObjectStoreException(ObjectStoreErrorKind.ContainerNotFound, key, $"The archive root '{_root}' is a file, not a directory: point the prefix at a directory.", ex),
        IOException io => new ObjectStoreException(ObjectStoreErrorKind.Other, key, $"I/O error on '{key}' under '{_root}': {io.Message}", ex),
        _ => null,
    };
}
