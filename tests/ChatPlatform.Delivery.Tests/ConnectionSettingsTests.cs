using Npgsql;

namespace ChatPlatform.Delivery.Tests;

public class ConnectionSettingsTests
{
    [Fact]
    public void A_connection_string_without_statement_settings_gets_prepared_statements_and_no_session_reset()
    {
        var settings = new NpgsqlConnectionStringBuilder(Extensions.WithStatementCache("Host=db.internal;Database=chat;Username=chat;Password='a;b'"));

        settings.MaxAutoPrepare.ShouldBe(32);
        settings.NoResetOnClose.ShouldBeTrue();
        settings.Options.ShouldBe("-c plan_cache_mode=force_generic_plan");
        settings.Password.ShouldBe("a;b");
        settings.Host.ShouldBe("db.internal");
    }

    [Fact]
    public void Statement_settings_written_in_the_connection_string_are_kept()
    {
        var settings = new NpgsqlConnectionStringBuilder(
            Extensions.WithStatementCache("Host=db.internal;Max Auto Prepare=0;No Reset On Close=false;Options=-c plan_cache_mode=auto"));

        settings.MaxAutoPrepare.ShouldBe(0);
        settings.NoResetOnClose.ShouldBeFalse();
        settings.Options.ShouldBe("-c plan_cache_mode=auto");
    }

    [Fact]
    public void Other_session_options_in_the_connection_string_are_kept_beside_the_generic_plans()
    {
        var settings = new NpgsqlConnectionStringBuilder(Extensions.WithStatementCache("Host=db.internal;Options=-c search_path=chat"));

        settings.Options.ShouldBe("-c search_path=chat -c plan_cache_mode=force_generic_plan");
    }
}
