using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Win32.SafeHandles;

namespace PgArchive.Cli.Native;

/// <summary>
/// libsodium carried inside the pgarchive executable: a build for one runtime (<c>-r linux-x64</c>, Native AOT or
/// not) embeds the libsodium 1.0.22 of the libsodium NuGet package as a resource instead of writing it beside the
/// executable, so the release is one file to copy. The first P/Invoke into libsodium (Geralt's, when encryption is
/// configured) loads it from memory: an anonymous memfd, opened by <c>dlopen</c> through <c>/proc/self/fd</c>, or,
/// where memfd is unavailable, a private temporary file removed once loaded. A portable build embeds nothing and
/// resolves libsodium as .NET does (its <c>runtimes/</c> folder).
/// </summary>
internal static partial class EmbeddedLibsodium
{
    /// <summary>The name libsodium's consumers import, and the embedded resource's name.</summary>
    public const string LibraryName = "libsodium";

    private const string ResourceName = "libsodium.so";
    private const uint MemfdCloexec = 1;
    private static readonly Lock Gate = new();
    private static IntPtr _handle;
    private static string? _failure;

    /// <summary>Why libsodium could not be loaded, once a load failed; null otherwise.</summary>
    public static string? Failure => _failure;

    /// <summary>Routes the libsodium imports of Geralt (the only assembly that calls libsodium) to the embedded copy, when there is one.</summary>
    public static void Register()
    {
        if (!OperatingSystem.IsLinux() || typeof(EmbeddedLibsodium).Assembly.GetManifestResourceInfo(ResourceName) is null)
        {
            return;
        }

        NativeLibrary.SetDllImportResolver(typeof(Geralt.IncrementalXChaCha20Poly1305).Assembly, Resolve);
    }

    /// <summary>
    /// One line for a failure to load libsodium, whichever way Geralt reports it (its type initializer wraps a
    /// missing or wrong library in PlatformNotSupportedException); null for any other exception.
    /// </summary>
    public static string? DescribeLoadFailure(Exception exception)
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            if (ex is PlatformNotSupportedException or DllNotFoundException && ex.Message.Contains(LibraryName, StringComparison.Ordinal))
            {
                var reason = _failure
                    ?? (ex.Message.Contains("required", StringComparison.Ordinal) ? ex.Message.ReplaceLineEndings(" ") : "it is neither embedded in pgarchive nor found beside it or on the library path");
                return $"libsodium encryption (WALG_LIBSODIUM_KEY) needs libsodium 1.0.22, which cannot be loaded: {reason}";
            }
        }

        return null;
    }

    [SupportedOSPlatform("linux")]
    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != LibraryName)
        {
            return IntPtr.Zero;
        }

        lock (Gate)
        {
            if (_handle == IntPtr.Zero && _failure is null)
            {
                try
                {
                    _handle = Load();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DllNotFoundException or BadImageFormatException)
                {
                    _failure = ex.Message.ReplaceLineEndings(" ");
                }
            }

            // Zero lets .NET try its own search, whose failure Geralt reports; Failure then says why ours failed.
            return _handle;
        }
    }

    [SupportedOSPlatform("linux")]
    private static IntPtr Load()
    {
        using var image = typeof(EmbeddedLibsodium).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new DllNotFoundException($"the embedded {ResourceName} is missing");
        var memfd = CreateMemfd();
        if (memfd is not null)
        {
            using (memfd)
            {
                Write(memfd, image);
                if (NativeLibrary.TryLoad($"/proc/self/fd/{memfd.DangerousGetHandle()}", out var handle))
                {
                    return handle; // the mapping outlives the descriptor
                }
            }

            image.Position = 0;
        }

        // No memfd (an old kernel, a seccomp filter) or no /proc: a file only this user can read, unlinked once mapped.
        var directory = Directory.CreateTempSubdirectory("pgarchive-libsodium-");
        try
        {
            var path = Path.Combine(directory.FullName, ResourceName);
            using (var file = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
            {
                image.CopyTo(file);
            }

            return NativeLibrary.Load(path);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static SafeFileHandle? CreateMemfd()
    {
        try
        {
            var fd = MemfdCreate("libsodium", MemfdCloexec);
            return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
        }
        catch (EntryPointNotFoundException)
        {
            return null; // a C library older than glibc 2.27
        }
    }

    private static void Write(SafeFileHandle file, Stream image)
    {
        var buffer = new byte[81920];
        long offset = 0;
        int read;
        while ((read = image.Read(buffer)) > 0)
        {
            RandomAccess.Write(file, buffer.AsSpan(0, read), offset);
            offset += read;
        }
    }

    [LibraryImport("libc", EntryPoint = "memfd_create", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int MemfdCreate(string name, uint flags);
}
