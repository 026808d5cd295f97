using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PgArchive.Cli.Listings;
using PgArchive.Compression;
using PgArchive.Encryption;
using PgArchive.Storage;

namespace PgArchive.Cli.Commands;

/// <summary>
/// WAL-G's storage tools (<c>wal-g st</c>): look at and change the configured store object by object, with paths
/// relative to the storage prefix, for people who debug an archive without the cloud's own CLI. Dangerous by design:
/// nothing here checks that a backup or the WAL history stays whole.
/// </summary>
internal static class StorageToolsCommands
{
    public static Command Create(GlobalOptions global)
    {
        var command = new Command("st", "(DANGEROUS) Storage tools: list, read, write and remove objects of the configured store, paths relative to its prefix.")
        {
            List(global), Stat(global), Get(global), Cat(global), Put(global), Remove(global), Check(global),
        };
        return command;
    }

    private static Command List(GlobalOptions global)
    {
        var path = new Argument<string>("path") { Description = "A folder relative to the storage prefix; the root when left out.", Arity = ArgumentArity.ZeroOrOne, DefaultValueFactory = _ => "" };
        var recursive = new Option<bool>("--recursive", "-r") { Description = "List every object below the folder, not only its direct children." };
        var command = new Command("ls", "Print the objects and folders in a storage folder (type, size, last modified, name), as wal-g st ls.") { path, recursive };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
            async (services, _, ct) =>
            {
                var folder = FolderPrefix(parseResult.GetValue(path)!);
                var deep = parseResult.GetValue(recursive);
                var folders = new SortedSet<string>(StringComparer.Ordinal);
                var objects = new List<ObjectInfo>();
                await foreach (var info in Store(services).ListAsync(folder, ct).ConfigureAwait(false))
                {
                    var relative = info.Key[folder.Length..];
                    var slash = relative.IndexOf('/', StringComparison.Ordinal);
                    if (deep || slash < 0)
                    {
                        objects.Add(info with { Key = relative });
                    }
                    else
                    {
                        folders.Add(relative[..(slash + 1)]);
                    }
                }

                var listing = new StringBuilder("type\tsize\tlast modified\tname\n");
                foreach (var name in folders)
                {
                    listing.Append(CultureInfo.InvariantCulture, $"dir\t0\t{GoTime.String(default)}\t{name}\t\t\n");
                }

                foreach (var info in objects.OrderBy(o => o.Key, StringComparer.Ordinal))
                {
                    listing.Append(Row(info));
                }

                await Console.Out.WriteAsync(GoTabWriter.Format(listing.ToString())).ConfigureAwait(false);
                return ExitCodes.Success;
            }, cancellationToken));
        return command;
    }

    private static Command Stat(GlobalOptions global)
    {
        var path = ObjectPath();
        var command = new Command("stat", "Print one object's type, size, last modified time and name with a single lookup, as wal-g st stat.") { path };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
            async (services, _, ct) =>
            {
                var key = ObjectKey(parseResult.GetValue(path)!);
                var info = await Store(services).GetInfoAsync(key, ct).ConfigureAwait(false) ?? throw NotFound(key);
                await Console.Out.WriteAsync(GoTabWriter.Format("type\tsize\tlast modified\tname\n" + Row(info))).ConfigureAwait(false);
                return ExitCodes.Success;
            }, cancellationToken));
        return command;
    }

    private static Command Get(GlobalOptions global)
    {
        var path = ObjectPath();
        var destination = new Argument<string>("destination") { Description = "A local file to create, or an existing directory to create it in (named as the object)." };
        var noDecrypt = new Option<bool>("--no-decrypt") { Description = "Do not decrypt the object." };
        var noDecompress = new Option<bool>("--no-decompress") { Description = "Do not decompress the object." };
        var command = new Command("get", "Download an object to a local file, decrypted and decompressed (by its extension) unless told not to, as wal-g st get.")
        {
            path, destination, noDecrypt, noDecompress,
        };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
            async (services, _, ct) =>
            {
                var key = ObjectKey(parseResult.GetValue(path)!);
                var target = parseResult.GetValue(destination)!;
                if (Directory.Exists(target))
                {
                    target = Path.Combine(target, key[(key.LastIndexOf('/') + 1)..]);
                }

                var decoded = await OpenAsync(services, key, !parseResult.GetValue(noDecrypt), !parseResult.GetValue(noDecompress), ct).ConfigureAwait(false);
                await using (decoded.ConfigureAwait(false))
                {
                    // Never over a file that is there, and nothing left behind when the download fails half-way.
                    var file = CreateLocal(target);
                    try
                    {
                        await using (file.ConfigureAwait(false))
                        {
                            await decoded.CopyToAsync(file, 1 << 20, ct).ConfigureAwait(false);
                        }
                    }
                    catch
                    {
                        File.Delete(target);
                        throw;
                    }
                }

                return ExitCodes.Success;
            }, cancellationToken));
        return command;
    }

    private static Command Cat(GlobalOptions global)
    {
        var path = ObjectPath();
        var decrypt = new Option<bool>("--decrypt") { Description = "Decrypt the object." };
        var decompress = new Option<bool>("--decompress") { Description = "Decompress the object (by its extension)." };
        var command = new Command("cat", "Write an object to standard output, as stored unless --decrypt / --decompress, as wal-g st cat.") { path, decrypt, decompress };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
            async (services, _, ct) =>
            {
                var key = ObjectKey(parseResult.GetValue(path)!);
                var decoded = await OpenAsync(services, key, parseResult.GetValue(decrypt), parseResult.GetValue(decompress), ct).ConfigureAwait(false);
                await using (decoded.ConfigureAwait(false))
                {
                    var stdout = Console.OpenStandardOutput();
                    await using (stdout.ConfigureAwait(false))
                    {
                        await decoded.CopyToAsync(stdout, 1 << 20, ct).ConfigureAwait(false);
                    }
                }

                return ExitCodes.Success;
            }, cancellationToken));
        return command;
    }

    private static Command Put(GlobalOptions global)
    {
        var source = new Argument<string>("local_path") { Description = "The local file to upload (with --read-stdin: the destination)." };
        var destination = new Argument<string?>("destination_path") { Description = "The object's path relative to the storage prefix; the compression method's extension is appended.", Arity = ArgumentArity.ZeroOrOne };
        var noEncrypt = new Option<bool>("--no-encrypt") { Description = "Do not encrypt the object." };
        var noCompress = new Option<bool>("--no-compress") { Description = "Do not compress the object." };
        var force = new Option<bool>("--force", "-f") { Description = "Overwrite the object if it exists." };
        var readStdin = new Option<bool>("--read-stdin", "-s") { Description = "Upload standard input; the one argument is the destination." };
        var command = new Command("put", "Upload a local file, compressed with the configured method and encrypted unless told not to, as wal-g st put. Refuses to overwrite without --force.")
        {
            source, destination, noEncrypt, noCompress, force, readStdin,
        };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
            async (services, _, ct) =>
            {
                var stdin = parseResult.GetValue(readStdin);
                var (localPath, remotePath) = (parseResult.GetValue(source)!, parseResult.GetValue(destination));
                if (stdin == (remotePath is not null))
                {
                    throw new PgArchiveConfigurationException(stdin
                        ? "st put --read-stdin takes one argument, the destination path."
                        : "st put needs a local path and a destination path (or --read-stdin and a destination path).");
                }

                var content = stdin ? Console.OpenStandardInput() : OpenLocal(localPath);
                await using (content.ConfigureAwait(false))
                {
                    var registry = services.Get<CompressorRegistry>();
                    var compressor = parseResult.GetValue(noCompress) ? Uncompressed(registry) : registry.Default;
                    var key = CompressorRegistry.WithExtension(ObjectKey(stdin ? localPath : remotePath!), compressor);
                    var codec = Codec(services, encrypt: !parseResult.GetValue(noEncrypt));
                    var mode = parseResult.GetValue(force) ? PutMode.Overwrite : PutMode.CreateNew;
                    try
                    {
                        await StreamingUpload.PutAsync(Store(services), key, mode, async (sink, token) =>
                        {
                            var encoder = codec.Encode(sink, compressor);
                            await using (encoder.ConfigureAwait(false))
                            {
                                await content.CopyToAsync(encoder, 1 << 20, token).ConfigureAwait(false);
                            }
                        }, ct).ConfigureAwait(false);
                    }
                    catch (ObjectStoreException ex) when (ex.Kind == ObjectStoreErrorKind.AlreadyExists)
                    {
                        throw new PgArchiveException($"Object {key} already exists; add --force to overwrite it.", ex);
                    }
                }

                return ExitCodes.Success;
            }, cancellationToken));
        return command;
    }

    private static Command Remove(GlobalOptions global)
    {
        var prefix = new Argument<string>("prefix") { Description = "An object, or a folder (all objects below it); a trailing / says it is a folder." };
        var command = new Command("rm", "Remove an object, or when no object has that path every object below it as a folder, as wal-g st rm.") { prefix };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
            async (services, _, ct) =>
            {
                var given = parseResult.GetValue(prefix)!;
                var store = Store(services);
                List<string> keys = [];
                if (!given.EndsWith('/') && await store.GetInfoAsync(ObjectKey(given), ct).ConfigureAwait(false) is { } single)
                {
                    keys.Add(single.Key);
                }
                else
                {
                    var folder = FolderPrefix(given);
                    await foreach (var info in store.ListAsync(folder, ct).ConfigureAwait(false))
                    {
                        keys.Add(info.Key);
                    }
                }

                if (keys.Count == 0)
                {
                    throw new PgArchiveException($"Object or folder '{given}' does not exist.");
                }

                await store.DeleteAsync(keys, ct).ConfigureAwait(false);
                await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"pgarchive: removed {keys.Count} object(s)")).ConfigureAwait(false);
                return ExitCodes.Success;
            }, cancellationToken));
        return command;
    }

    private static Command Check(GlobalOptions global)
    {
        var files = new Argument<string[]>("files") { Description = "Objects that must exist.", Arity = ArgumentArity.ZeroOrMore };
        var read = new Command("read", "Check that the store can be listed and, when given, that each named object exists, as wal-g st check read.") { files };
        read.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
            async (services, _, ct) =>
            {
                var store = Store(services);
                await foreach (var first in store.ListAsync("", ct).ConfigureAwait(false))
                {
                    break;
                }

                var missing = new List<string>();
                foreach (var name in parseResult.GetValue(files) ?? [])
                {
                    if (await store.GetInfoAsync(ObjectKey(name), ct).ConfigureAwait(false) is null)
                    {
                        missing.Add(name);
                    }
                }

                if (missing.Count > 0)
                {
                    throw new PgArchiveException("Objects are missing: " + string.Join(", ", missing) + ".");
                }

                await Console.Error.WriteLineAsync("pgarchive: read check OK").ConfigureAwait(false);
                return ExitCodes.Success;
            }, cancellationToken));

        var write = new Command("write", "Check that the store takes a write and a delete (a random object, removed again), as wal-g st check write.");
        write.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
            async (services, _, ct) =>
            {
                var store = Store(services);
                var key = "pgarchive_check_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
                await store.PutAsync(key, new MemoryStream("test"u8.ToArray()), PutMode.CreateNew, ct).ConfigureAwait(false);
                try
                {
                    await store.DeleteAsync([key], ct).ConfigureAwait(false);
                }
                catch (PgArchiveException ex)
                {
                    await Console.Error.WriteLineAsync($"pgarchive: warning: could not remove the check object {key}: {ex.Message}").ConfigureAwait(false);
                }

                await Console.Error.WriteLineAsync("pgarchive: write check OK").ConfigureAwait(false);
                return ExitCodes.Success;
            }, cancellationToken));

        return new Command("check", "Check that the configured store can be read from or written to.") { read, write };
    }

    // The store the archive services use: through the retry layer, and archive authentication when it is on.
    public static IObjectStore Store(IServiceProvider services) => PgArchiveServiceCollectionExtensions.ArchiveStore(services);

    private static ObjectCodec Codec(IServiceProvider services, bool encrypt) =>
        encrypt ? services.Get<ObjectCodec>() : new ObjectCodec(services.Get<CompressorRegistry>(), new NoEncryptor());

    private static ICompressor Uncompressed(CompressorRegistry registry) =>
        registry.FindByExtension("") as ICompressor ?? throw new PgArchiveException("No uncompressed method is registered.");

    private static async Task<Stream> OpenAsync(IServiceProvider services, string key, bool decrypt, bool decompress, CancellationToken cancellationToken)
    {
        var codec = Codec(services, decrypt);
        var decompressor = decompress ? codec.CompressorFor(key) : Uncompressed(codec.Compressors);
        if (decompress && decompressor.FileExtension.Length == 0 && Path.GetExtension(key) is { Length: > 1 } extension)
        {
            await Console.Error.WriteLineAsync($"pgarchive: warning: no decompressor for extension '{extension}'; the object is written as stored").ConfigureAwait(false);
        }

        var store = Store(services);
        var stored = await store.OpenReadAsync(key, null, cancellationToken).ConfigureAwait(false);
        return codec.Decode(stored, decompressor);
    }

    private static FileStream OpenLocal(string path)
    {
        if (Directory.Exists(path))
        {
            throw new PgArchiveException($"Local path '{path}' is a directory; st put uploads one file.");
        }

        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
    }

    // As WAL-G creates it (0640), never over a file that is there.
    private static FileStream CreateLocal(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.Asynchronous };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        }

        return new FileStream(path, options);
    }

    private static Argument<string> ObjectPath() => new("path") { Description = "The object's path relative to the storage prefix." };

    // Paths as WAL-G takes them: relative to the prefix, a leading / ignored.
    private static string ObjectKey(string path)
    {
        var key = path.TrimStart('/');
        return key.Length == 0 || key.EndsWith('/')
            ? throw new PgArchiveConfigurationException($"'{path}' names a folder, not an object.")
            : key;
    }

    private static string FolderPrefix(string path)
    {
        var folder = path.Trim('/');
        return folder.Length == 0 ? "" : folder + "/";
    }

    private static ObjectStoreException NotFound(string key) => new ObjectStoreException(ObjectStoreErrorKind.NotFound, key, $"Object {key} does not exist.");

    private static string Row(ObjectInfo info) =>
        string.Create(CultureInfo.InvariantCulture, $"obj\t{info.Size}\t{GoTime.String(info.LastModified)}\t{info.Key}\t\t\n");
}
