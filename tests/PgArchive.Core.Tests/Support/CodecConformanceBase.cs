using Microsoft.Extensions.DependencyInjection;
using PgArchive.DependencyInjection;

namespace PgArchive.Support;

/// <summary>What the codec conformance suites share: service providers built as users build them, disposed with the test.</summary>
public abstract class CodecConformanceBase : IDisposable
{
    private readonly List<ServiceProvider> _providers = [];

    protected static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        foreach (var provider in _providers)
        {
            provider.Dispose();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary><c>AddPgArchive(options).UseInMemory()</c>, plus what <paramref name="register"/> adds.</summary>
    private protected ServiceProvider Build(Action<PgArchiveOptions> options, Action<IPgArchiveBuilder> register)
    {
        var builder = new ServiceCollection().AddPgArchive(options).UseInMemory();
        register(builder);
        var provider = builder.Services.BuildServiceProvider();
        _providers.Add(provider);
        return provider;
    }
}
