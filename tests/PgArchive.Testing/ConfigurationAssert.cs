using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace PgArchive.Testing;

/// <summary>Checks that a registration binding configuration refuses a key its options do not have, at start, naming it.</summary>
public static class ConfigurationAssert
{
    /// <summary>
    /// Registers with <paramref name="register"/> over a configuration of <paramref name="settings"/>, runs the start-up
    /// validation and asserts it fails with the binder's message naming <paramref name="misspelt"/> on <typeparamref name="TOptions"/>.
    /// </summary>
    public static void MisspeltKeyFailsAtStart<TOptions>(
        IReadOnlyDictionary<string, string?> settings, Action<IServiceCollection, IConfiguration> register, string misspelt)
    {
        ArgumentNullException.ThrowIfNull(register);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        register(services, configuration);
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Equal("'ErrorOnUnknownConfiguration' was set on the provided BinderOptions, but the following properties were not " +
            $"found on the instance of {typeof(TOptions).FullName}: '{misspelt}'", ex.Message);
    }
}
